/**
 * The one config entry point (promises §6): `loadConfig()` finds and parses the config file,
 * `resolveConfig()` interpolates `${ENV}` references, validates everything at once and returns a
 * deeply frozen {@link ResolvedConfig}. Every problem is reported together in one
 * `SWITCHYARD_CONFIG_INVALID` error whose issues name the path, the value (unless it came from the
 * environment) and, for an unknown name, the valid ones.
 *
 * The parts live in `config/`: `types` (options, key lists, the registry seam), `load` (files),
 * `interpolate` (`${ENV}` and redaction), `resolve` (validation in phases), `util` (checks).
 *
 * @packageDocumentation
 */

export { findConfigFile, loadConfig, parseConfigText } from './config/load.js';
export { resolveConfig } from './config/resolve.js';
export {
  type BackendRegistryLike,
  CONFIG_FILE_NAMES,
  CONFIG_KEYS,
  DEFAULT_JOB_TYPE_CONF,
  isBackendModule,
  type LoadConfigOptions,
  QUEUE_OPTION_KEYS,
  type ResolveConfigOptions,
  type SectionValidator,
} from './config/types.js';
