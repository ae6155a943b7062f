import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { loadConfig, selectWorkerQueues } from '@tributary/config';
import { embedQueueName, queueWaitListKey, workerQueueNames } from '@tributary/queue';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { MANIFEST_DIR, renderManifests } from './write-manifests';

/** A validating model (kubernetes-models; KEDA's from its 2.10 CRDs) for every kind the layout uses. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/**
 * The redis (lists) scaler's trigger parameters in KEDA's documentation (keda.sh, "Redis Lists"):
 * its CRD leaves trigger metadata a free string map, so the names are checked here.
 */
const REDIS_LIST_TRIGGER = new Set([
  'address',
  'addressFromEnv',
  'host',
  'hostFromEnv',
  'port',
  'portFromEnv',
  'passwordFromEnv',
  'usernameFromEnv',
  'listName',
  'listLength',
  'activationListLength',
  'databaseIndex',
  'enableTLS',
  'unsafeSsl',
]);
const TRIGGER_AUTH_PARAMETERS = new Set([
  'address',
  'host',
  'port',
  'username',
  'password',
  'tls',
  'ca',
  'cert',
  'key',
]);

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  command: string[];
  env?: { name: string; value: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { containerPort: number; name?: string }[];
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec: { containers: Container[] } };
    scaleTargetRef?: { name: string };
    triggers?: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
    secretTargetRef?: { parameter: string; name: string; key: string }[];
  };
}

/** Every resource of the committed YAML files (not of the generator: what `kubectl apply -k` reads). */
function committed(): Resource[] {
  return readdirSync(MANIFEST_DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(MANIFEST_DIR, f), 'utf8')).map((d) => d.toJS() as Resource),
    );
}

const resources = committed();
const byKind = (kind: string) => resources.filter((r) => r.kind === kind);
const configMap = byKind('ConfigMap')[0]!.data!;
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('deploy/kubernetes', () => {
  it('is what `npm run deploy:manifests` writes from tools/deploy (run it after changing the layout)', () => {
    const rendered = renderManifests();
    const onDisk = readdirSync(MANIFEST_DIR).filter((f) => f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered)
      expect(readFileSync(path.join(MANIFEST_DIR, file), 'utf8')).toBe(text);
  });

  it('validates every resource against its API schema, and every reference between them resolves', () => {
    const names = (kind: string) => new Set(byKind(kind).map((r) => r.metadata.name));
    for (const resource of resources) {
      const Model = models[`${resource.apiVersion}/${resource.kind}`];
      expect(Model).toBeDefined();
      expect(() => new Model!(resource as never).validate()).not.toThrow();
    }
    for (const d of byKind('Deployment')) {
      expect(d.spec.template!.metadata!.labels).toMatchObject(d.spec.selector!.matchLabels);
    }
    for (const c of [...byKind('Deployment'), ...byKind('Job')].flatMap(
      (r) => r.spec.template!.spec.containers,
    )) {
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef) expect(names('ConfigMap')).toContain(ref.configMapRef.name);
      }
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
        expect((c.ports ?? []).map((p) => p.name)).toContain(probe!.httpGet!.port);
      }
    }
    for (const s of byKind('ScaledObject')) {
      expect(names('Deployment')).toContain(s.spec.scaleTargetRef!.name);
      for (const t of s.spec.triggers!) {
        expect(t.type).toBe('redis');
        for (const key of Object.keys(t.metadata)) expect(REDIS_LIST_TRIGGER).toContain(key);
        expect(t.metadata['listLength']).toMatch(/^[1-9][0-9]*$/);
        expect(names('TriggerAuthentication')).toContain(t.authenticationRef!.name);
      }
    }
    for (const a of byKind('TriggerAuthentication')) {
      for (const ref of a.spec.secretTargetRef!) expect(TRIGGER_AUTH_PARAMETERS).toContain(ref.parameter);
    }
  });

  it('runs one worker Deployment per queue, each scaled by KEDA on the BullMQ wait list of that queue (keys from libs/queue)', () => {
    const config = loadConfig(configMap);
    const models = config.MODELS;
    const queues = workerQueueNames(models);
    // Every model has its embedding queue served: nothing is left unembedded.
    for (const model of models) expect(queues).toContain(embedQueueName(model));
    const workers = byKind('Deployment').filter((d) =>
      d.spec.template!.spec.containers[0]!.command.join(' ').includes('worker'),
    );
    const served = workers.map((d) => envOf(d.spec.template!.spec.containers[0]!)['WORKER_QUEUES']);
    expect(served.sort()).toEqual([...queues].sort());
    const scaledObjects = byKind('ScaledObject');
    expect(scaledObjects).toHaveLength(queues.length);
    for (const worker of workers) {
      const env = { ...configMap, ...envOf(worker.spec.template!.spec.containers[0]!) };
      // The worker accepts its WORKER_QUEUES and serves exactly that queue.
      const [queue, ...others] = selectWorkerQueues(loadConfig(env), queues);
      expect(others).toEqual([]);
      const scaler = scaledObjects.find((s) => s.spec.scaleTargetRef!.name === worker.metadata.name);
      expect(scaler?.spec.triggers).toEqual([
        expect.objectContaining({
          type: 'redis',
          metadata: expect.objectContaining({ listName: queueWaitListKey(config.REDIS_PREFIX, queue!) }),
        }),
      ]);
    }
  });

  it('puts the API on a vector store its replicas share, and gives every workload probes and resource requests', () => {
    const config = loadConfig(configMap);
    expect(['pgvector', 'qdrant']).toContain(config.VECTOR_STORE);
    const api = byKind('Deployment').find((d) => d.metadata.name === 'tributary-api')!;
    expect(api.spec.replicas).toBeGreaterThan(1);
    const apiContainer = api.spec.template!.spec.containers[0]!;
    expect(apiContainer.readinessProbe?.httpGet?.path).toBe('/health/ready');
    expect(apiContainer.livenessProbe?.httpGet?.path).toBe('/health/live');
    for (const d of byKind('Deployment')) {
      for (const c of d.spec.template!.spec.containers) {
        expect(c.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources?.limits?.memory).toEqual(expect.any(String));
        // The scheduler serves no HTTP at all (README, known gaps); every other workload is probed.
        if (d.metadata.name !== 'tributary-scheduler') expect(c.livenessProbe).toBeDefined();
      }
    }
  });

  it('runs compiled JavaScript with plain node, the command of the image built by deploy/Dockerfile', () => {
    const dockerfile = readFileSync(path.join(MANIFEST_DIR, '..', 'Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
    const containers = [...byKind('Deployment'), ...byKind('Job')].flatMap(
      (r) => r.spec.template!.spec.containers,
    );
    for (const c of containers) expect(c.command).toEqual(['node', expect.stringMatching(/^dist\/.+\.js$/)]);
    const api = byKind('Deployment').find((d) => d.metadata.name === 'tributary-api')!;
    expect(api.spec.template!.spec.containers[0]!.command).toEqual(cmd);
  });
});
