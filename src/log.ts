// JSON-line logs (pino), one logger per process. Secrets never reach a log line.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'mari' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.pin', '*.api_key', '*.key'], censor: '[redacted]' },
  });
}
