/**
 * The dialects by name (a frozen map, as knex's dialect table).
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Dialect } from './dialect.js';
import { mysql } from './mysql.js';
import { postgres } from './postgres.js';
import { sqlite } from './sqlite.js';

export type { Dialect, HeldRef, Row, StrategyContext } from './dialect.js';

/** Every dialect, by name. */
export const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze({ sqlite, postgres, mysql });
