/** The aggregator conformance suite on the sql aggregator over MySQL / MariaDB (SWITCHYARD_MYSQL_URL). */
import { SqlDatabase } from '../../src/backends/sql/database.js';
import { describeIfService, services } from '../helpers/env.js';
import { runSqlAggregatorConformance } from './sql-shared.js';

describeIfService(services.mysql, 'sql aggregator on MySQL', (url) => {
  runSqlAggregatorConformance('sql (MySQL)', () => SqlDatabase.open({ connection: url, pool: { max: 10 } }));
});
