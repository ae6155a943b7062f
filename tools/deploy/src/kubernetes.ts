import { TriggerAuthentication, ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { loadConfig } from '@tributary/config';
import { queuesFor, queueWaitListKey, type QueueRef } from '@tributary/queue';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Service, type IContainer, type IEnvVar, type IProbe } from 'kubernetes-models/v1';

/** The image `deploy/Dockerfile` builds; every workload runs it with its own command. */
export const IMAGE = 'tributary:latest';

/** The compiled entry points (`npm run build` → dist/), run with plain `node` from the image's WORKDIR. */
export const APP_COMMANDS = {
  api: ['node', 'dist/apps/api/src/main.js'],
  worker: ['node', 'dist/apps/worker/src/main.js'],
  scheduler: ['node', 'dist/apps/scheduler/src/main.js'],
  migrate: ['node', 'dist/tools/dev/src/migrate.js'],
} as const;

/** The Secret the operator creates (named in the README); the manifests only refer to it. */
export const SECRET = 'tributary';

/**
 * Settings every workload shares (the ConfigMap). Parsed with the apps' own schema below, so a
 * value the apps would refuse fails the generation, and the queue names come from the same MODELS.
 */
const SHARED_ENV = {
  NODE_ENV: 'production',
  HOST: '0.0.0.0',
  PORT: '3000',
  LOG_LEVEL: 'info',
  REDIS_PREFIX: 'tributary',
  SHUTDOWN_GRACE_MS: '5000',
  // Several API replicas, no volume: the embedded store would rebuild its index in each at every start.
  VECTOR_STORE: 'pgvector',
  MODELS: 'use-lite@1,use-lite-int8@1',
};

const WORKER_METRICS_PORT = 9100;

/** One workload's variables beyond the ConfigMap, and its resources. */
interface Sizing {
  env: Record<string, string>;
  requests: { cpu: string; memory: string };
  memoryLimit: string;
}

/**
 * Inference threads follow the CPU request: Node sees the node's cores, not the pod's share.
 * An embedding worker runs one single-threaded session per requested core.
 */
const SIZING = {
  api: {
    env: { INFERENCE_INTRA_OP_THREADS: '1' },
    requests: { cpu: '1', memory: '1Gi' },
    memoryLimit: '2Gi',
  },
  embedWorker: {
    env: { INFERENCE_SESSIONS: '2', INFERENCE_INTRA_OP_THREADS: '1' },
    requests: { cpu: '2', memory: '1Gi' },
    memoryLimit: '2Gi',
  },
  maintenanceWorker: { env: {}, requests: { cpu: '100m', memory: '256Mi' }, memoryLimit: '512Mi' },
  scheduler: { env: {}, requests: { cpu: '50m', memory: '192Mi' }, memoryLimit: '512Mi' },
  migrate: { env: {}, requests: { cpu: '100m', memory: '256Mi' }, memoryLimit: '1Gi' },
} satisfies Record<string, Sizing>;

/** KEDA's target: waiting jobs per replica (an embedding job carries up to 100 items). */
const SCALING = {
  embed: { min: 1, max: 8, listLength: '50' },
  maintenance: { min: 1, max: 2, listLength: '20' },
};

type Model = ConfigMap | Deployment | Service | Job | ScaledObject | TriggerAuthentication;

/** One YAML file of deploy/kubernetes and the resources in it. */
export interface ManifestFile {
  file: string;
  resources: Model[];
}

function env(values: Record<string, string>): IEnvVar[] {
  return Object.entries(values).map(([name, value]) => ({ name, value }));
}

function container(
  name: string,
  command: readonly string[],
  sizing: Sizing,
  extra: Partial<IContainer> = {},
): IContainer {
  return {
    name,
    image: IMAGE,
    command: [...command],
    envFrom: [{ configMapRef: { name: 'tributary' } }, { secretRef: { name: SECRET } }],
    ...(Object.keys(sizing.env).length > 0 ? { env: env(sizing.env) } : {}),
    resources: { requests: sizing.requests, limits: { memory: sizing.memoryLimit } },
    ...extra,
  };
}

function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): IProbe {
  return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

function deployment(
  name: string,
  labels: Record<string, string>,
  spec: {
    replicas: number;
    containers: IContainer[];
    terminationGracePeriodSeconds: number;
    recreate?: boolean;
  },
  annotations?: Record<string, string>,
): Deployment {
  return new Deployment({
    metadata: { name, labels },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: labels },
      strategy: spec.recreate
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels, ...(annotations ? { annotations } : {}) },
        spec: {
          terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
          containers: spec.containers,
        },
      },
    },
  });
}

/** The worker Deployment of one queue: `WORKER_QUEUES` names only that queue. */
function workerDeployment({ name: queue, family }: QueueRef): Deployment {
  const embeds = family === 'embed';
  const sizing = embeds ? SIZING.embedWorker : SIZING.maintenanceWorker;
  const labels = { app: 'tributary-worker', queue };
  return deployment(
    `tributary-worker-${queue}`,
    labels,
    {
      replicas: (embeds ? SCALING.embed : SCALING.maintenance).min,
      // A worker finishes the jobs in hand before it exits.
      terminationGracePeriodSeconds: 60,
      containers: [
        container(
          'worker',
          APP_COMMANDS.worker,
          {
            ...sizing,
            env: { ...sizing.env, WORKER_QUEUES: queue, METRICS_PORT: String(WORKER_METRICS_PORT) },
          },
          {
            ports: [{ containerPort: WORKER_METRICS_PORT, name: 'metrics' }],
            // A worker serves no other HTTP: its scrape endpoint answers while its event loop runs
            // (inference runs on worker threads). No readiness: it takes jobs, not requests.
            livenessProbe: httpProbe('/metrics', 'metrics', 15, 4),
          },
        ),
      ],
    },
    {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(WORKER_METRICS_PORT),
      'prometheus.io/path': '/metrics',
    },
  );
}

/** KEDA scales one queue's workers on the length of that queue's BullMQ wait list. */
function workerScaledObject({ name: queue, family }: QueueRef, redisPrefix: string): ScaledObject {
  const scaling = family === 'embed' ? SCALING.embed : SCALING.maintenance;
  return new ScaledObject({
    metadata: { name: `tributary-worker-${queue}` },
    spec: {
      scaleTargetRef: { name: `tributary-worker-${queue}` },
      minReplicaCount: scaling.min,
      maxReplicaCount: scaling.max,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'redis',
          metadata: { listName: queueWaitListKey(redisPrefix, queue), listLength: scaling.listLength },
          authenticationRef: { name: 'tributary-redis' },
        },
      ],
    },
  });
}

/** Every manifest of the cluster layout, by file (deploy/kubernetes/<file>). */
export function kubernetesManifests(): ManifestFile[] {
  const config = loadConfig(SHARED_ENV);
  const queues = queuesFor(config.MODELS);
  const api = deployment(
    'tributary-api',
    { app: 'tributary-api' },
    {
      replicas: 2,
      terminationGracePeriodSeconds: 30,
      containers: [
        container('api', APP_COMMANDS.api, SIZING.api, {
          ports: [{ containerPort: config.PORT, name: 'http' }],
          // Listening means the models are loaded; up to two minutes for that.
          startupProbe: httpProbe('/health/live', 'http', 2, 60),
          // Drops within ~4 s of SIGTERM, inside SHUTDOWN_GRACE_MS, so no new request reaches a closing pod.
          readinessProbe: httpProbe('/health/ready', 'http', 2, 2),
          livenessProbe: httpProbe('/health/live', 'http', 10, 3),
        }),
      ],
    },
    {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(config.PORT),
      'prometheus.io/path': '/metrics',
    },
  );
  return [
    {
      file: 'configmap.yaml',
      resources: [new ConfigMap({ metadata: { name: 'tributary' }, data: SHARED_ENV })],
    },
    {
      file: 'migrate-job.yaml',
      resources: [
        new Job({
          metadata: { name: 'tributary-migrate' },
          spec: {
            backoffLimit: 3,
            ttlSecondsAfterFinished: 86_400,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [container('migrate', APP_COMMANDS.migrate, SIZING.migrate)],
              },
            },
          },
        }),
      ],
    },
    {
      file: 'api.yaml',
      resources: [
        api,
        new Service({
          metadata: { name: 'tributary-api' },
          spec: {
            selector: { app: 'tributary-api' },
            ports: [{ port: 80, targetPort: 'http', name: 'http' }],
          },
        }),
      ],
    },
    {
      file: 'worker.yaml',
      resources: [
        new TriggerAuthentication({
          metadata: { name: 'tributary-redis' },
          spec: {
            secretTargetRef: [
              { parameter: 'address', name: SECRET, key: 'REDIS_ADDRESS' },
              { parameter: 'password', name: SECRET, key: 'REDIS_PASSWORD' },
            ],
          },
        }),
        ...queues.flatMap((queue) => [
          workerDeployment(queue),
          workerScaledObject(queue, config.REDIS_PREFIX),
        ]),
      ],
    },
    {
      file: 'scheduler.yaml',
      resources: [
        deployment(
          'tributary-scheduler',
          { app: 'tributary-scheduler' },
          {
            replicas: 1,
            recreate: true,
            terminationGracePeriodSeconds: 30,
            containers: [container('scheduler', APP_COMMANDS.scheduler, SIZING.scheduler)],
          },
        ),
      ],
    },
  ];
}
