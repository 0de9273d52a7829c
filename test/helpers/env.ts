/**
 * Service switches for tests. A suite that needs a server runs only when its URL variable is set;
 * otherwise it is skipped with one line saying how to enable it. With
 * `SWITCHYARD_REQUIRE_SERVICES=1` (CI) a skip becomes a failing test instead, so a missing server
 * can never turn CI green. Memory and SQLite suites need no switch and always run.
 */
import { describe, test } from 'vitest';

/** One external service a suite may need. */
export interface Service {
  /** Human name for messages. */
  readonly name: string;
  /** The variable that enables the suites and tells them where the server is. */
  readonly variable: string;
  /** An example value, for the enable hint. */
  readonly example: string;
}

export const services = {
  // Why a switch and not a connection probe: a suite that silently skips on a refused connection
  // hides an outage (knex's trap); the variable states the intent.
  postgres: {
    name: 'PostgreSQL',
    variable: 'SWITCHYARD_PG_URL',
    example: 'postgres://postgres@127.0.0.1:5432/test',
  },
  mysql: {
    name: 'MySQL/MariaDB',
    variable: 'SWITCHYARD_MYSQL_URL',
    example: 'mysql://root@127.0.0.1:3306/test',
  },
  redis: { name: 'Redis', variable: 'SWITCHYARD_REDIS_URL', example: 'redis://127.0.0.1:6379' },
  kafka: { name: 'Kafka', variable: 'SWITCHYARD_KAFKA_BROKERS', example: '127.0.0.1:9092' },
} as const satisfies Record<string, Service>;

/** True when CI asked for every service-backed suite to run. */
export const requireServices = process.env.SWITCHYARD_REQUIRE_SERVICES === '1';

/** The configured address of a service, or undefined when its suites are disabled. */
export function serviceUrl(service: Service): string | undefined {
  const value = process.env[service.variable];
  return value === undefined || value === '' ? undefined : value;
}

const announced = new Set<string>();

/**
 * `describe` when the service is configured; otherwise a skipped block plus one line on stderr
 * saying how to enable it, or (under SWITCHYARD_REQUIRE_SERVICES=1) a failing test.
 */
export function describeIfService(service: Service, name: string, fn: (url: string) => void): void {
  const url = serviceUrl(service);
  if (url !== undefined) {
    describe(name, () => fn(url));
    return;
  }
  const hint = `${service.name} suites skipped: set ${service.variable} (e.g. ${service.variable}=${service.example}) to run them`;
  if (requireServices) {
    describe(name, () => {
      test(`requires ${service.name}`, () => {
        throw new Error(`SWITCHYARD_REQUIRE_SERVICES=1 but ${service.variable} is unset: ${hint}`);
      });
    });
    return;
  }
  if (!announced.has(service.variable)) {
    announced.add(service.variable);
    process.stderr.write(`${hint}\n`);
  }
  describe.skip(name, () => fn(''));
}
