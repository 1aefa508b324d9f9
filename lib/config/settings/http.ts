/** The HTTP servers' timeouts and connection cap. */
import { ALL_SERVICES, defineSettings, setting } from '../env.js';

export const connectionLimitSettings = defineSettings({
  HTTP_HEADERS_TIMEOUT_MS: {
    ...setting.positiveInt(10_000),
    services: ALL_SERVICES,
    description: 'A request\'s headers must arrive within this time of its first byte (or of the connection\'s opening); then 408 and the connection is closed (see docs/behaviour.md, "Timeouts").',
  },
  HTTP_BODY_TIMEOUT_MS: {
    ...setting.positiveInt(30_000),
    services: ALL_SERVICES,
    description: 'The whole request, headers and body, must arrive within `HTTP_HEADERS_TIMEOUT_MS` + this; then 408. Answers are not bounded by it.',
  },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: {
    ...setting.positiveInt(72_000),
    services: ALL_SERVICES,
    description: 'An idle keep-alive connection is closed this long after its last answer (Node keeps it up to 1 s longer than it announces); the gateway keeps its own idle connections to the subgraphs for half of it, at most 30 s.',
  },
  HTTP_MAX_CONNECTIONS: {
    ...setting.positiveInt(1024),
    services: ALL_SERVICES,
    description: 'Open connections per service; one more is closed as soon as it is accepted.',
  },
});
