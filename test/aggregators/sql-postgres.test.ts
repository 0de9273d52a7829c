/** The aggregator conformance suite on the sql aggregator over PostgreSQL (SWITCHYARD_PG_URL). */
import { SqlDatabase } from '../../src/backends/sql/database.js';
import { describeIfService, services } from '../helpers/env.js';
import { runSqlAggregatorConformance } from './sql-shared.js';

describeIfService(services.postgres, 'sql aggregator on PostgreSQL', (url) => {
  runSqlAggregatorConformance('sql (PostgreSQL)', () =>
    SqlDatabase.open({ connection: url, pool: { max: 10 } }),
  );
});
