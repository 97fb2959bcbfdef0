import { y } from "../helpers/repo.js";

/** One document of each integration kind, valid against the base repo (test/helpers/base-repo.ts). */
export const INTEGRATIONS = y`
  kind: ExternalSystem
  name: Mes
  baseUrl: https://mes.plant.local/api
  auth: { type: apiKey, header: X-Api-Key, secret: MES_API_KEY }
  timeoutMs: 5000
  retry: { intervalMs: 30000, maxAttempts: 20 }
  methods:
    - name: ReportCount
      http: POST
      path: /lines/{line}/counts
      parameters: [{ name: line, type: String }, { name: count, type: Int32 }]
      returns: Boolean
  ---
  kind: NotificationList
  name: Operators
  recipients: [ops@plant.example]
  smtp:
    host: smtp.plant.local
    port: 587
    tls: starttls
    from: scada@plant.example
    auth: { type: basic, username: scada, passwordSecret: SMTP_PASSWORD }
  retry: { intervalMs: 60000, maxAttempts: 60 }
  ---
  kind: DatabaseConnection
  name: Historian
  provider: postgres
  host: db.plant.local
  port: 5432
  database: production
  user: scada
  passwordSecret: HISTORIAN_PASSWORD
  poolSize: 4
  timeoutMs: 5000
  retry: { intervalMs: 30000, maxAttempts: 100 }
  ---
  kind: ApiMethod
  name: SetLimit
  site: plant-north
  instance: Pump07
  script: Limit
  keys: [MES_INBOUND_KEY]
  timeoutMs: 10000
  ---
  kind: ParkedMessages
  name: 2026-04-21-retry-mes
  site: plant-north
  action: retry
  match: { target: Mes }
`;

/** INTEGRATIONS with one text replaced; throws when the text is not there (a test that changes nothing proves nothing). */
export function integrationsWith(from: string, to: string): string {
  if (!INTEGRATIONS.includes(from)) throw new Error(`not in INTEGRATIONS: ${from}`);
  return INTEGRATIONS.replace(from, to);
}
