/**
 * @module version
 * Wattline's version, as `wattline --version` prints it and telemetry reports it (keep it equal to
 * packages/wattline/package.json's `version`; a test checks).
 */
export const WATTLINE_VERSION = '0.1.0'
