export { KindStage } from './kind-stage';
export type { KindHandler, StageStream, StageTarget } from './kind-handler';
