/**
 * @wattline/core — the pure domain: no I/O, no clock, no randomness, no node:* imports.
 * Explicit named exports only; each area keeps its own block.
 */

// units
export * from './units/quantity.ts'
export * from './units/estimate.ts'
export type { Brand } from './brand.ts'

// errors
export * from './errors.ts'

// ports
export type { Clock, Stopwatch } from './ports/clock.ts'
export { seededRandom } from './ports/random.ts'
export type { Random } from './ports/random.ts'
export type { CarbonIntensitySource } from './ports/carbon-intensity-source.ts'
export type { PowerMeter, PowerSample } from './ports/power-meter.ts'
export { UpstreamFailure } from './ports/upstream.ts'
export type {
  Upstream,
  UpstreamFailureKind,
  UpstreamRequest,
  UpstreamResponse,
} from './ports/upstream.ts'
export { REPORT_REQUEST_FIELDS } from './ports/report-source.ts'
export type {
  BudgetView,
  ChainHeadView,
  GateDecisionView,
  HardwareView,
  ReportRequest,
  ReportSource,
  ReportTimeRange,
  TrainingRunView,
} from './ports/report-source.ts'
export type {
  BudgetStatusSource,
  DashboardLedgerReader,
  DashboardLiveState,
  LiveBackend,
  LiveDecision,
  SavingsSource,
  TimeWindow,
} from './ports/dashboard-reads.ts'
export type { CacheEntry, CacheStore } from './ports/cache-store.ts'

// carbon
export * from './carbon/intensity.ts'
export * from './carbon/builtin-table.ts'
export { BUILTIN_INTENSITY } from './carbon/data/builtin-intensity.ts'
export * from './carbon/regions.ts'
export * from './carbon/series.ts'

// energy
export * from './energy/profile.ts'

// routing
export * from './routing/policy.ts'
export { predict, assess, hardIneligibility } from './routing/predict.ts'
export type { Prediction, Ineligibility, Assessed } from './routing/predict.ts'
export { createCarbonAware, DEFAULT_CARBON_TOLERANCE } from './routing/carbon-aware.ts'
export type { CarbonAwareOptions } from './routing/carbon-aware.ts'
export { createRoundRobin } from './routing/round-robin.ts'
export { createLeastLoaded } from './routing/least-loaded.ts'
export { createLatencyFirst } from './routing/latency-first.ts'
export { createWeighted } from './routing/weighted.ts'
export { createPolicy } from './routing/policies.ts'
export type { PolicyOptions } from './routing/policies.ts'
export {
  stepBreaker,
  breakerAllows,
  settle as settleBreaker,
  CLOSED as BREAKER_CLOSED,
  DEFAULT_BREAKER_CONFIG,
} from './routing/circuit-breaker.ts'
export type { BreakerConfig, BreakerState, BreakerEvent } from './routing/circuit-breaker.ts'

// ledger records
export type {
  RequestRecord,
  IdleEnergyRecord,
  PowerSampleRecord,
  IntensityRecord,
  LedgerRecord,
  LedgerSink,
} from './ledger/records.ts'

// anomaly detection (dashboard, reports)
export {
  ANOMALY_KINDS,
  ANOMALY_UNITS,
  DEFAULT_ANOMALY_OPTIONS,
  bucketMeans,
  detectAnomalies,
} from './anomaly/detect.ts'
export type {
  Anomaly,
  AnomalyKind,
  AnomalyOptions,
  SeriesPoint,
  SeriesSubject,
} from './anomaly/detect.ts'
export { MAD_TO_SIGMA, median, medianAbsoluteDeviation } from './anomaly/robust-stats.ts'
export {
  DEFAULT_MIN_REQUESTS_PER_BUCKET,
  detectLedgerAnomalies,
  detectSeriesAnomalies,
} from './anomaly/ledger-anomalies.ts'
export type {
  LedgerAnomalyInput,
  LedgerAnomalyOptions,
  SubjectSeries,
} from './anomaly/ledger-anomalies.ts'

// catalog + energy model (energy engineer)
export { closeMatches, editDistance, normaliseId } from './text/close-matches.ts'
export * from './catalog/hardware.ts'
export * from './catalog/models.ts'
export * from './energy/curve-fit.ts'
export * from './energy/measurements.ts'
export * from './energy/profile-table.ts'
export * from './energy/parametric.ts'
export * from './energy/prefill.ts'
export * from './energy/build-profile.ts'
export * from './energy/fit-profiles.ts'
export * from './energy/resolve.ts'
export * from './energy/request.ts'
export * from './energy/network.ts'
export * from './energy/edge-profile.ts'
export * from './energy/request-bytes.ts'
export { FITTED_PROFILE_TABLE } from './catalog/data/fitted-profiles.ts'
export * from './energy/attribution.ts'

// ledger chain, audit records, rollups (issue 4)
export * from './ledger/canonical-json.ts'
export * from './ledger/audit-records.ts'
export * from './ledger/chain.ts'
export * from './ledger/verify-chain.ts'
export * from './ledger/rollup.ts'
export { PRUNABLE_KINDS } from './ports/ledger-store.ts'
export type {
  LedgerStore,
  AppendBatch,
  ChainedRow,
  ChainTail,
  PrunedRange,
  PruneResult,
  TimeRange,
} from './ports/ledger-store.ts'

// budgets and the release gate (issue 4)
export * from './budget/budget-target.ts'
export * from './budget/metric-value.ts'
export * from './budget/confidence.ts'
export * from './budget/gate-verdict.ts'
export * from './budget/rolling-totals.ts'
export * from './budget/watch-verdict.ts'
export * from './budget/tenant-budget.ts'
// accounting: facility energy (PUE), carbon, idle allocation, embodied, SCI, roll-ups — the one home
export * from './accounting/facility-energy.ts'
export * from './accounting/carbon.ts'
export * from './accounting/idle-share.ts'
export * from './accounting/embodied.ts'
export * from './accounting/sci.ts'
export * from './accounting/interval-sum.ts'
export * from './accounting/peak-power.ts'
export * from './accounting/time-buckets.ts'
export * from './accounting/scope-rollup.ts'
export * from './accounting/tenant-idle.ts'
export * from './accounting/tenant-usage.ts'
export * from './accounting/lever-savings-rollup.ts'
export * from './accounting/network-rollup.ts'

// engine (replay simulator: virtual clock, event queue, continuous-batching backends)
export { VirtualClock } from './engine/virtual-clock.ts'
export { EventQueue } from './engine/event-queue.ts'
export { KeyedHeap } from './engine/keyed-heap.ts'
export { tabulateProfile, memoizeProfile } from './engine/batch-tables.ts'
export type { BatchTables } from './engine/batch-tables.ts'
export { simulateReplay } from './engine/simulate-replay.ts'
export type {
  EngineBackend,
  EngineRequests,
  EngineView,
  IntensityLookup,
  ChooseBackend,
  SimulationInput,
  SimulationResult,
  BackendTotals,
} from './engine/simulate-replay.ts'
export { createPolicyChooser } from './engine/policy-chooser.ts'
export type {
  ChooserBackend,
  ChooserService,
  PolicyChooserInput,
  PolicyChooser,
} from './engine/policy-chooser.ts'
export { latencyQuantiles } from './engine/latency-quantiles.ts'
// the one decision engine (gateway and replay)
export { createRouter, LEVER_NAMES, NO_LEVERS } from './engine/router.ts'
export type {
  Router,
  RouterInput,
  RouterBackend,
  RouterService,
  RouterRequest,
  RouterDecision,
  LoadSnapshot,
  LeverName,
  LeverAction,
  LeverContext,
  RoutingLever,
} from './engine/router.ts'

// live, work-weighted attribution of a backend's power (gateway)
export * from './energy/live-attribution.ts'
export * from './advise/index.ts'

// wire types of the read-only dashboard API (server: wattline http/api; client: the dashboard)
export type {
  EstimateJson,
  WindowJson,
  UsageSummary,
  UsageBucket,
  PeakPower,
  LeverSaving,
  LeverSavingJson,
  EnergySplit,
  NetworkEnergyJson,
  OverviewBody,
  BudgetStatus,
  ServiceRow,
  ServicesBody,
  ServiceDetailBody,
  LiveZoneIntensity,
  ZoneRow,
  ZonesBody,
  BackendRow,
  BackendsBody,
  ScoreJson,
  DecisionJson,
  DecisionsBody,
  AnomaliesBody,
  BudgetsBody,
  TenantRowJson,
  TenantsBody,
} from './api/dashboard-api-types.ts'

// shared load counters across gateway replicas (scale-out)
export type { AcquireOutcome, LoadCounters, LoadLease } from './ports/load-counters.ts'

// scaling (right-sizing: replay and the live scaler)
export type { ScalingPool, RequestMix } from './scaling/pool.ts'
export { DEFAULT_COLD_START_MS } from './scaling/pool.ts'
export * from './scaling/steady-state.ts'
export { forecastLoad, DEFAULT_FORECAST } from './scaling/forecast.ts'
export type { WindowObservation, ForecastOptions, Forecast } from './scaling/forecast.ts'
export { createScalingPolicy, SCALING_POLICIES } from './scaling/policies.ts'
export type {
  ScalingPolicy,
  ScalingPolicyName,
  ScalingInput,
  ScalingDecision,
  ScalingPolicyOptions,
} from './scaling/policies.ts'
export { simulateFleet } from './scaling/simulate-fleet.ts'
export type {
  FleetTrace,
  FleetSimulation,
  FleetSimulationInput,
  FleetWindow,
  FleetTotals,
} from './scaling/simulate-fleet.ts'
export { buildDiurnalDay, BURSTGPT_CONVERSATION_HOURLY } from './scaling/diurnal.ts'
export { peakReplicas, windowLoads } from './scaling/peak-sizing.ts'
export type { WindowLoad } from './scaling/peak-sizing.ts'
export type { DiurnalTrace } from './scaling/diurnal.ts'

// scheduling (time-shifting of deferrable work: the Batch API)
export { planGreenestSlots, slotStart } from './scheduling/greenest-slots.ts'
export type {
  PlanInput,
  PlannedSlot,
  SlotPlan,
  SlotIntensity,
} from './scheduling/greenest-slots.ts'
export { seasonalNaiveForecast, SEASONAL_DAYS } from './scheduling/seasonal-forecast.ts'
export type { SeasonalForecastInput } from './scheduling/seasonal-forecast.ts'
export { batchLineBudget } from './scheduling/throttle.ts'
export type { ThrottleInput } from './scheduling/throttle.ts'
export { timeShiftSaving } from './scheduling/time-shift-saving.ts'
export type { TimeShiftInput } from './scheduling/time-shift-saving.ts'
export { zoneOrder } from './scheduling/zone-order.ts'

// levers (issue 11: in-region energy levers, through the router's levers hook)
export * from './levers/savings.ts'
export * from './levers/prefix-cache.ts'
export * from './levers/prefix-affinity.ts'
export * from './levers/occupancy.ts'
export * from './levers/exact-cache.ts'
export * from './levers/tiers.ts'
export * from './levers/microbatch.ts'
