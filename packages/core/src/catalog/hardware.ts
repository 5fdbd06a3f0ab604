/**
 * @module catalog/hardware
 * The hardware catalogue: accelerators and CPU-only servers with the figures the energy model needs.
 * Every figure names its source. Shared-data sources are cited by folder and file (see
 * `../shared/data/<folder>/SOURCE.md` for repository, commit and licence); vendor figures by
 * datasheet name and year. Where no source gives a figure it is either absent or derived by a
 * stated rule (idle power: see {@link IDLE_RATIO_RULE}).
 */
import { WattlineError } from '../errors.ts'
import { closeMatches } from '../text/close-matches.ts'

/**
 * `gpu`: a data-centre accelerator; `cpu`: a CPU-only server; `edge`: an embedded module (Jetson
 * class) that runs one request at a time, outside any data centre (no PUE, see docs/methodology.md
 * "Edge placement").
 */
export const HARDWARE_KINDS = ['gpu', 'cpu', 'edge'] as const
export type HardwareKind = (typeof HARDWARE_KINDS)[number]

/** The source of each figure of a {@link HardwareSpec}. */
export interface HardwareSources {
  readonly tdp: string
  readonly idle: string
  readonly memory: string
  readonly bandwidth: string
  readonly flops?: string
  readonly embodied?: string
}

/** One device (GPU: per accelerator; CPU server: per two-socket server). */
export interface HardwareSpec {
  /** Catalogue id, e.g. `H100-SXM`. */
  readonly id: string
  readonly name: string
  readonly kind: HardwareKind
  readonly vendor: string
  /** Other names it is known by (nvidia-smi names, data-set names); matched case-insensitively. */
  readonly aliases: readonly string[]
  /** Thermal design power / max board power, W. */
  readonly tdpW: number
  /** Typical idle power, W (powered, nothing to do). */
  readonly idleW: number
  /** Device memory, GB (CPU servers: installed DRAM of the reference configuration). */
  readonly memoryGb: number
  /** Peak memory bandwidth, GB/s. */
  readonly memoryBandwidthGBs: number
  /** Peak dense 16-bit tensor throughput (bf16, or fp16 where bf16 is unsupported), TFLOP/s. */
  readonly peak16Tflops?: number
  /** Embodied emissions of the device, kgCO2e. */
  readonly embodiedKgCo2e?: number
  /** Edge modules: the configurable power budgets (nvpmodel modes), W; the last is `tdpW`. */
  readonly powerModesW?: readonly number[]
  readonly sources: HardwareSources
}

/**
 * Idle power rule for devices whose idle power no source gives: TDP × 46/407, the ratio of the
 * NVIDIA A100's idle to maximum power in Cloud Carbon Footprint's coefficients
 * (`ccf-coefficients/extracted-from-ccf-source/ccf_processor_watts.csv`: A100 46 W / 407 W).
 */
export const IDLE_RATIO_RULE = Object.freeze({
  ratio: 46 / 407,
  source:
    'modelled: TDP × 46/407 (CCF A100 idle/max ratio, ccf-coefficients ccf_processor_watts.csv)',
})

const CCF_GPU_EMBODIED =
  'CCF coefficients-aws-embodied.csv: additional_gpus 1200 kgCO2e per 8-GPU platform (p3, p4d) = 150 kgCO2e per GPU; generic, not model-specific'
const CCF_CPU_EMBODIED =
  'CCF coefficients-aws-embodied.csv: 1000 kgCO2e base server (a1.medium total 1022.21 = 1000 + 22.21 memory)'
const MLCO2 = 'mlco2-impact gpus.csv'
const CCF_WATTS = 'ccf-coefficients ccf_processor_watts.csv'

function gpu(
  spec: Omit<HardwareSpec, 'kind' | 'idleW' | 'sources' | 'embodiedKgCo2e'> & {
    idleW?: number
    sources: Omit<HardwareSources, 'idle' | 'embodied'> & { idle?: string }
  },
): HardwareSpec {
  const idleW = spec.idleW ?? Math.round(spec.tdpW * IDLE_RATIO_RULE.ratio)
  return Object.freeze({
    ...spec,
    kind: 'gpu',
    idleW,
    embodiedKgCo2e: 150,
    sources: Object.freeze({
      ...spec.sources,
      idle: spec.sources.idle ?? IDLE_RATIO_RULE.source,
      embodied: CCF_GPU_EMBODIED,
    }),
  })
}

const JETSON_AGX_DS = 'NVIDIA Jetson AGX Orin Series module data sheet'
const JETSON_NX_DS = 'NVIDIA Jetson Orin NX Series module data sheet'

/**
 * An edge module. Its idle power is the {@link IDLE_RATIO_RULE} on the module's maximum power (no
 * source we found gives a module idle figure under an LLM server); it has no tensor-FLOP figure of
 * its own (prefill uses the measured prefill rate where a measurement exists), and no embodied
 * figure (CCF's coefficients cover data-centre servers only).
 */
function edge(
  spec: Omit<HardwareSpec, 'kind' | 'idleW' | 'sources' | 'embodiedKgCo2e' | 'vendor'> & {
    sources: Omit<HardwareSources, 'idle' | 'embodied'>
  },
): HardwareSpec {
  return Object.freeze({
    ...spec,
    kind: 'edge',
    vendor: 'NVIDIA',
    idleW: Math.round(spec.tdpW * IDLE_RATIO_RULE.ratio * 10) / 10,
    powerModesW: Object.freeze([...(spec.powerModesW ?? [spec.tdpW])]),
    sources: Object.freeze({ ...spec.sources, idle: IDLE_RATIO_RULE.source }),
  })
}

/** Every catalogued device. */
export const HARDWARE: readonly HardwareSpec[] = Object.freeze([
  gpu({
    id: 'A100-40GB',
    name: 'NVIDIA A100 SXM4 40GB',
    vendor: 'NVIDIA',
    aliases: ['A100', 'A100-SXM4-40GB', 'NVIDIA A100-SXM4-40GB', 'A100 40GB', 'a100-sxm-40gb'],
    tdpW: 400,
    idleW: 46,
    memoryGb: 40,
    memoryBandwidthGBs: 1555,
    peak16Tflops: 312,
    sources: {
      tdp: `${MLCO2} (A100 SXM4, 400 W); NVIDIA A100 Tensor Core GPU datasheet (2021)`,
      idle: `${CCF_WATTS} (Nvidia Tesla A100 min 46 W)`,
      memory: 'NVIDIA A100 Tensor Core GPU datasheet (2021)',
      bandwidth: 'NVIDIA A100 Tensor Core GPU datasheet (2021): 1,555 GB/s (40GB HBM2)',
      flops: 'NVIDIA A100 Tensor Core GPU datasheet (2021): BF16 312 TFLOPS dense',
    },
  }),
  gpu({
    id: 'A100-80GB',
    name: 'NVIDIA A100 SXM4 80GB',
    vendor: 'NVIDIA',
    aliases: ['A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB', 'A100 80GB', 'A100 SXM4 80 GB'],
    tdpW: 400,
    idleW: 46,
    memoryGb: 80,
    memoryBandwidthGBs: 2039,
    peak16Tflops: 312,
    sources: {
      tdp: `${MLCO2} (A100 SXM4 80 GB, 400 W)`,
      idle: `${CCF_WATTS} (Nvidia Tesla A100 min 46 W)`,
      memory: `${MLCO2} (80 GB)`,
      bandwidth: 'NVIDIA A100 Tensor Core GPU datasheet (2021): 2,039 GB/s (80GB HBM2e)',
      flops: 'NVIDIA A100 Tensor Core GPU datasheet (2021): BF16 312 TFLOPS dense',
    },
  }),
  gpu({
    id: 'H100-SXM',
    name: 'NVIDIA H100 SXM5 80GB',
    vendor: 'NVIDIA',
    aliases: ['H100', 'H100 SXM', 'NVIDIA H100 80GB HBM3', 'H100-SXM5-80GB', 'H100-80GB'],
    tdpW: 700,
    memoryGb: 80,
    memoryBandwidthGBs: 3350,
    peak16Tflops: 989,
    sources: {
      tdp: `${MLCO2} (H100 SXM, 700 W); NVIDIA H100 Tensor Core GPU datasheet (2023)`,
      memory: `${MLCO2} (80 GB)`,
      bandwidth: 'NVIDIA H100 Tensor Core GPU datasheet (2023): 3.35 TB/s (SXM)',
      flops:
        'NVIDIA H100 Tensor Core GPU datasheet (2023): BF16 1,979 TFLOPS with sparsity = 989 dense',
    },
  }),
  gpu({
    id: 'H100-PCIe',
    name: 'NVIDIA H100 PCIe 80GB',
    vendor: 'NVIDIA',
    aliases: ['H100 PCIe', 'NVIDIA H100 PCIe', 'H100-PCIe-80GB'],
    tdpW: 350,
    memoryGb: 80,
    memoryBandwidthGBs: 2000,
    peak16Tflops: 756,
    sources: {
      tdp: 'NVIDIA H100 Tensor Core GPU datasheet (2023): PCIe max TDP 300–350 W (upper bound)',
      memory: 'NVIDIA H100 Tensor Core GPU datasheet (2023): 80 GB',
      bandwidth: 'NVIDIA H100 Tensor Core GPU datasheet (2023): 2 TB/s (PCIe)',
      flops:
        'NVIDIA H100 Tensor Core GPU datasheet (2023): BF16 1,513 TFLOPS with sparsity = 756 dense',
    },
  }),
  gpu({
    id: 'H200',
    name: 'NVIDIA H200 SXM 141GB',
    vendor: 'NVIDIA',
    aliases: ['H200 SXM', 'H200-SXM', 'NVIDIA H200', 'H200-141GB'],
    tdpW: 700,
    memoryGb: 141,
    memoryBandwidthGBs: 4800,
    peak16Tflops: 989,
    sources: {
      tdp: 'NVIDIA H200 Tensor Core GPU datasheet (2024): SXM max TDP up to 700 W',
      memory: 'NVIDIA H200 Tensor Core GPU datasheet (2024): 141 GB HBM3e',
      bandwidth: 'NVIDIA H200 Tensor Core GPU datasheet (2024): 4.8 TB/s',
      flops:
        'NVIDIA H200 Tensor Core GPU datasheet (2024): BF16 1,979 TFLOPS with sparsity = 989 dense',
    },
  }),
  gpu({
    id: 'B200',
    name: 'NVIDIA B200 (HGX B200)',
    vendor: 'NVIDIA',
    aliases: ['NVIDIA B200', 'B200-180GB', 'HGX B200'],
    tdpW: 1000,
    memoryGb: 180,
    memoryBandwidthGBs: 8000,
    peak16Tflops: 2250,
    sources: {
      tdp: 'NVIDIA HGX B200 datasheet (2024): 1,000 W per GPU',
      memory: 'NVIDIA DGX B200 datasheet (2024): 1,440 GB HBM3e across 8 GPUs = 180 GB',
      bandwidth: 'NVIDIA DGX B200 datasheet (2024): 64 TB/s across 8 GPUs = 8 TB/s',
      flops:
        'NVIDIA HGX B200 datasheet (2024): BF16 4.5 PFLOPS with sparsity per GPU = 2,250 dense',
    },
  }),
  gpu({
    id: 'L4',
    name: 'NVIDIA L4 24GB',
    vendor: 'NVIDIA',
    aliases: ['NVIDIA L4', 'L4-24GB'],
    tdpW: 72,
    memoryGb: 24,
    memoryBandwidthGBs: 300,
    peak16Tflops: 121,
    sources: {
      tdp: `${MLCO2} (L4, 72 W); NVIDIA L4 product brief PB-11316-001 (2023)`,
      memory: `${MLCO2} (24 GB)`,
      bandwidth: 'NVIDIA L4 Tensor Core GPU datasheet (2023): 300 GB/s',
      flops:
        'NVIDIA L4 Tensor Core GPU datasheet (2023): BF16 242 TFLOPS with sparsity = 121 dense',
    },
  }),
  gpu({
    id: 'L40S',
    name: 'NVIDIA L40S 48GB',
    vendor: 'NVIDIA',
    aliases: ['NVIDIA L40S', 'L40S-48GB'],
    tdpW: 350,
    memoryGb: 48,
    memoryBandwidthGBs: 864,
    peak16Tflops: 362,
    sources: {
      tdp: `${MLCO2} (L40S, 350 W); NVIDIA L40S datasheet (2023)`,
      memory: `${MLCO2} (48 GB)`,
      bandwidth: 'NVIDIA L40S datasheet (2023): 864 GB/s',
      flops: `${MLCO2} (362.05 TFLOPS 16-bit); NVIDIA L40S datasheet (2023): BF16 362.05 dense`,
    },
  }),
  gpu({
    id: 'A10G',
    name: 'NVIDIA A10G 24GB (AWS g5)',
    vendor: 'NVIDIA',
    aliases: ['NVIDIA A10G', 'A10G-24GB'],
    tdpW: 150,
    idleW: 18,
    memoryGb: 24,
    memoryBandwidthGBs: 600,
    sources: {
      tdp: `${MLCO2} (A10G, 150 W; CCF gives 153 W max)`,
      idle: `${CCF_WATTS} (Nvidia A10G min 18 W)`,
      memory: 'AWS EC2 G5 instance documentation (2021): 24 GB per GPU',
      bandwidth: 'AWS EC2 G5 instance documentation (2021) / TechPowerUp A10G: 600 GB/s',
    },
  }),
  gpu({
    id: 'MI300X',
    name: 'AMD Instinct MI300X 192GB',
    vendor: 'AMD',
    aliases: ['AMD MI300X', 'Instinct MI300X', 'MI300X-192GB'],
    tdpW: 750,
    memoryGb: 192,
    memoryBandwidthGBs: 5300,
    peak16Tflops: 1307,
    sources: {
      tdp: 'AMD Instinct MI300X accelerator datasheet (2023): 750 W peak board power',
      memory: 'AMD Instinct MI300X accelerator datasheet (2023): 192 GB HBM3',
      bandwidth: 'AMD Instinct MI300X accelerator datasheet (2023): 5.3 TB/s',
      flops: 'AMD Instinct MI300X accelerator datasheet (2023): BF16 1,307.4 TFLOPS dense',
    },
  }),
  gpu({
    id: 'V100',
    name: 'NVIDIA Tesla V100 SXM2 32GB',
    vendor: 'NVIDIA',
    aliases: ['Tesla V100', 'V100-SXM2-32GB', 'Tesla V100-SXM2-32GB', 'V100 32GB'],
    tdpW: 300,
    idleW: 35,
    memoryGb: 32,
    memoryBandwidthGBs: 900,
    peak16Tflops: 125,
    sources: {
      tdp: `${MLCO2} (Tesla V100-SXM2-32GB, 300 W)`,
      idle: `${CCF_WATTS} (Nvidia Tesla V100 min 35 W)`,
      memory: `${MLCO2} (32 GB)`,
      bandwidth: 'NVIDIA Tesla V100 datasheet (2020): 900 GB/s',
      flops: 'NVIDIA Tesla V100 datasheet (2020): FP16 tensor 125 TFLOPS (no BF16 support)',
    },
  }),
  gpu({
    id: 'A40',
    name: 'NVIDIA A40 48GB',
    vendor: 'NVIDIA',
    aliases: ['NVIDIA A40', 'A40-48GB'],
    tdpW: 300,
    memoryGb: 48,
    memoryBandwidthGBs: 696,
    peak16Tflops: 149.7,
    sources: {
      tdp: 'NVIDIA A40 datasheet (2021): 300 W max power',
      memory: 'NVIDIA A40 datasheet (2021): 48 GB GDDR6',
      bandwidth: 'NVIDIA A40 datasheet (2021): 696 GB/s',
      flops: 'NVIDIA A40 datasheet (2021): BF16 299.4 TFLOPS with sparsity = 149.7 dense',
    },
  }),
  edge({
    id: 'Jetson-AGX-Orin-64GB',
    name: 'NVIDIA Jetson AGX Orin 64GB module',
    aliases: [
      'AGX Orin 64GB',
      'Jetson AGX Orin',
      'AGX Orin',
      'jetson-agx-orin-64gb',
      'orin-agx-64gb',
    ],
    tdpW: 60,
    powerModesW: [15, 30, 50, 60],
    memoryGb: 64,
    memoryBandwidthGBs: 204.8,
    sources: {
      tdp: `${JETSON_AGX_DS}: maximum module power up to 60 W (64GB), power modes 15 W / 30 W / 50 W / MAXN (60 W)`,
      memory: `${JETSON_AGX_DS}: 64 GB 256-bit LPDDR5, shared by CPU and GPU`,
      bandwidth: `${JETSON_AGX_DS}: 204.8 GB/s`,
    },
  }),
  edge({
    id: 'Jetson-Orin-NX-16GB',
    name: 'NVIDIA Jetson Orin NX 16GB module',
    aliases: ['Orin NX 16GB', 'Jetson Orin NX', 'Orin NX', 'jetson-orin-nx-16gb'],
    tdpW: 25,
    powerModesW: [10, 15, 25],
    memoryGb: 16,
    memoryBandwidthGBs: 102.4,
    sources: {
      tdp: `${JETSON_NX_DS}: power configurable between 10 W and 25 W`,
      memory: `${JETSON_NX_DS}: 16 GB 128-bit LPDDR5, shared by CPU and GPU`,
      bandwidth: `${JETSON_NX_DS}: 102.4 GB/s`,
    },
  }),
  Object.freeze({
    id: 'CPU-XEON-8480',
    name: 'CPU-only server, 2 × Intel Xeon Platinum 8480+ (Sapphire Rapids, 224 vCPU)',
    kind: 'cpu',
    vendor: 'Intel',
    aliases: ['cpu', 'cpu-server', 'xeon-8480', 'sapphire-rapids', 'Intel Xeon Platinum 8480+'],
    tdpW: 700,
    idleW: 232,
    memoryGb: 512,
    memoryBandwidthGBs: 614,
    embodiedKgCo2e: 1000,
    sources: Object.freeze({
      tdp: 'codecarbon cpu_power.csv (Intel Xeon Platinum 8480+, 350 W) × 2 sockets',
      idle: 'ccf-coefficients coefficients-aws-use.csv (Sapphire Rapids min 1.036 W/vCPU) × 224 vCPU',
      memory: 'reference configuration (16 × 32 GB DDR5), an assumption',
      bandwidth: 'Intel ARK Xeon Platinum 8480+ (2023): 8 × DDR5-4800 = 307 GB/s per socket × 2',
      embodied: CCF_CPU_EMBODIED,
    }),
  }),
  Object.freeze({
    id: 'CPU-EPYC-9654',
    name: 'CPU-only server, 2 × AMD EPYC 9654 (Genoa, 384 vCPU)',
    kind: 'cpu',
    vendor: 'AMD',
    aliases: ['epyc-9654', 'genoa', 'AMD EPYC 9654'],
    tdpW: 720,
    idleW: 284,
    memoryGb: 768,
    memoryBandwidthGBs: 922,
    embodiedKgCo2e: 1000,
    sources: Object.freeze({
      tdp: 'codecarbon cpu_power.csv (AMD EPYC 9654, 360 W) × 2 sockets',
      idle: 'ccf-coefficients coefficients-aws-use.csv (EPYC 4th Gen min 0.739 W/vCPU) × 384 vCPU',
      memory: 'reference configuration (24 × 32 GB DDR5), an assumption',
      bandwidth:
        'AMD EPYC 9004 series datasheet (2022): 12 × DDR5-4800 = 460.8 GB/s per socket × 2',
      embodied: CCF_CPU_EMBODIED,
    }),
  }),
])

/**
 * A device name as looked up: case-insensitive, and spaces, `_` and `-` are one separator — but
 * the separator counts: `H100 SXM` and `h100_sxm` name `H100-SXM`, while `H100SXM` (a different
 * spelling of the part number, issue 10) is unknown and answered with "did you mean H100-SXM".
 */
export function hardwareKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '-')
}

const BY_NAME: ReadonlyMap<string, HardwareSpec> = new Map(
  HARDWARE.flatMap((h) => [h.id, ...h.aliases].map((n) => [hardwareKey(n), h] as const)),
)

/** The device named `id` (catalogue id or alias; see {@link hardwareKey}), if known. */
export function findHardware(id: string): HardwareSpec | undefined {
  return BY_NAME.get(hardwareKey(id))
}

/** Like {@link findHardware} but throws `WL_UNKNOWN_HARDWARE` with `details.matches` when unknown. */
export function getHardware(id: string): HardwareSpec {
  const found = findHardware(id)
  if (found !== undefined) return found
  const matches = closeMatches(
    id,
    HARDWARE.map((h) => h.id),
  )
  const aliasMatches = closeMatches(
    id,
    HARDWARE.flatMap((h) => h.aliases),
  ).map((a) => findHardware(a)?.id ?? a)
  const all = [...new Set([...matches, ...aliasMatches])].slice(0, 5)
  throw new WattlineError(
    'WL_UNKNOWN_HARDWARE',
    `unknown hardware "${id}"${all.length > 0 ? `; did you mean ${all.join(', ')}?` : ''} (known: ${HARDWARE.map((h) => h.id).join(', ')})`,
    { details: { hardware: id, matches: all } },
  )
}
