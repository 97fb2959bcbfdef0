// PostgreSQL for DatabaseConnection documents: pooled connections, database.query, and the store-and-forward
// deliverer of database.cachedWrite. See docs/store-and-forward.md#postgresql.
export { DatabaseError, PostgresConnections, type RunResult } from "./connections.js";
export { type DbWrite, postgresDeliverer, validateDbWrite } from "./deliver-postgres.js";
export { describeDbError, transientSqlError } from "./sqlstate.js";
