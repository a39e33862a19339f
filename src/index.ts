/** costgate as a library. */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { startHttpServer, type HttpServer } from './server/http.js';
export { startSimulator, type Simulator, type SimulatorServerOptions } from './providers/simulator/server.js';
export { wrapOpenAI } from './library/wrap-openai.js';
export { loadConfig, parseConfig, resolveConfig, ConfigError, type ResolvedConfig } from './config/load.js';
export type { Config } from './config/schema.js';
export { GatewayError, type ErrorCode } from './pipeline/errors.js';
export type { GatewayRequest, GatewayResponse, AttemptRecord, Outcome } from './pipeline/ctx.js';
export type { RequestRecord, RecordSink } from './pipeline/record.js';
export type { Usage } from './providers/usage.js';
export type { SemanticLayer, CacheStore, CacheEntry, CacheHeader } from './cache/types.js';
export { verifyWebhook, signWebhook } from './batch/webhook.js';
export type { DeferredHandle } from './gateway.js';
export { createSemanticLayer, decide, guard, useLiteEmbedder, openaiEmbedder, hashedEmbedder, type Embedder, type SemanticLayerOptions, type DecisionOptions } from './cache/semantic/index.js';
