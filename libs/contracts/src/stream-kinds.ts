import { z } from 'zod';

/**
 * What a stream holds. The kind decides which fields its items take ({@link itemKindIssues}) and
 * which settings the stream has ({@link streamSettings}).
 */
export const streamKinds = ['text', 'conversation', 'document', 'sensor'] as const;
export type StreamKind = (typeof streamKinds)[number];

/** The largest `sequence` an item may have (PostgreSQL's `integer`). */
export const ITEM_SEQUENCE_MAX = 2 ** 31 - 1;

/** Channels a sensor reading (`values`) may hold. */
export const SENSOR_CHANNELS_MAX = 64;

/** The fields of an item that depend on its stream's kind. */
export interface KindItemFields {
  text?: string | undefined;
  timestamp?: string | undefined;
  conversationId?: string | undefined;
  documentId?: string | undefined;
  sequence?: number | undefined;
  values?: Record<string, number> | undefined;
}

/** The kinds that take each kind-specific item field; items of other kinds are refused it. */
const itemFieldKinds = {
  conversationId: ['conversation'],
  documentId: ['document'],
  sequence: ['conversation', 'document'],
  values: ['sensor'],
} as const satisfies Partial<Record<keyof KindItemFields, readonly StreamKind[]>>;

/** The fields each kind requires, with what the field is for (said when it is missing). */
const requiredItemFields: Record<StreamKind, Partial<Record<keyof KindItemFields, string>>> = {
  text: { text: 'the text to embed' },
  conversation: {
    conversationId: 'the id of the conversation the message belongs to',
    text: 'the message',
  },
  document: {
    documentId: 'the id of the document the sentence belongs to',
    sequence: 'the sentence’s position in the document (an integer from 0)',
    text: 'one sentence of the document',
  },
  sensor: {
    timestamp: 'when the reading was taken (ISO 8601)',
    values: 'the reading, {"<channel>": <number>, …}',
  },
};

function kindList(kinds: readonly StreamKind[]): string {
  return kinds.length === 1 ? kinds[0]! : `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)!}`;
}

export interface KindIssue {
  path: [keyof KindItemFields];
  message: string;
}

/**
 * What an item (already valid as an item of some kind: `itemSchema`) lacks or has too much for a
 * stream of `kind`: each issue names the field and says which kind takes it. Empty when it fits.
 */
export function itemKindIssues(kind: StreamKind, item: KindItemFields): KindIssue[] {
  const issues: KindIssue[] = [];
  for (const [field, purpose] of Object.entries(requiredItemFields[kind])) {
    if (item[field as keyof KindItemFields] === undefined) {
      issues.push({
        path: [field as keyof KindItemFields],
        message: `required in a ${kind} stream: ${purpose}`,
      });
    }
  }
  for (const [field, kinds] of Object.entries(itemFieldKinds)) {
    const takes = (kinds as readonly StreamKind[]).includes(kind);
    if (!takes && item[field as keyof KindItemFields] !== undefined) {
      issues.push({
        path: [field as keyof KindItemFields],
        message: `is taken by ${kindList(kinds)} streams only; this is a ${kind} stream`,
      });
    }
  }
  return issues;
}

/** Whether `Intl` knows the time zone (IANA names such as "Europe/Lisbon", and "UTC"). */
export function isTimeZone(name: string): boolean {
  // A name, not an offset such as "+01:00", which newer runtimes also accept.
  if (!/^[A-Za-z][A-Za-z0-9_+/-]*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The effective settings of a stream of each kind. */
export interface StreamSettingsByKind {
  text: Record<never, never>;
  conversation: { contextWindow: number; decay: number };
  document: { temperature: number };
  sensor: { timeZone: string };
}
export type EffectiveSettings<K extends StreamKind = StreamKind> = StreamSettingsByKind[K];

/** What a stream's settings are when its creator set none. */
export const STREAM_SETTINGS_DEFAULTS: { readonly [K in StreamKind]: Readonly<StreamSettingsByKind[K]> } = {
  text: {},
  conversation: { contextWindow: 5, decay: 1 },
  document: { temperature: 0.1 },
  sensor: { timeZone: 'UTC' },
};

const defaults = STREAM_SETTINGS_DEFAULTS;

/** Each setting's rule, description and the kind that takes it. */
const settingFields = {
  contextWindow: {
    kind: 'conversation',
    schema: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe(
        `Conversation streams: the context window, in messages (1–100, default ${defaults.conversation.contextWindow})`,
      ),
  },
  decay: {
    kind: 'conversation',
    schema: z
      .number()
      .gt(0)
      .max(1)
      .describe(
        `Conversation streams: the decay of weights across the context window, in (0, 1] (default ${defaults.conversation.decay})`,
      ),
  },
  temperature: {
    kind: 'document',
    schema: z
      .number()
      .gt(0)
      .max(10)
      .describe(
        `Document streams: the temperature of the sentences’ weighting into the document vector, in (0, 10] (default ${defaults.document.temperature})`,
      ),
  },
  timeZone: {
    kind: 'sensor',
    schema: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone name such as "Europe/Lisbon" or "UTC"')
      .describe(
        `Sensor streams: the time zone of the readings’ local time (an IANA name, default "${defaults.sensor.timeZone}")`,
      ),
  },
} as const satisfies Record<string, { kind: StreamKind; schema: z.ZodType }>;
type SettingName = keyof typeof settingFields;
const settingNames = Object.keys(settingFields) as SettingName[];

/** Settings as a stream's creator sends them (and as they are stored: only those set). */
export const streamSettingsSchema = z
  .object({
    contextWindow: settingFields.contextWindow.schema.optional(),
    decay: settingFields.decay.schema.optional(),
    temperature: settingFields.temperature.schema.optional(),
    timeZone: settingFields.timeZone.schema.optional(),
  })
  .strict();
export type StreamSettings = z.infer<typeof streamSettingsSchema>;

/** The settings that may also be given beside `kind` rather than in `settings`. */
export const TOP_LEVEL_SETTINGS = ['contextWindow', 'decay', 'temperature'] as const satisfies SettingName[];
type TopLevelSetting = (typeof TOP_LEVEL_SETTINGS)[number];

/** Stream creation's fields that carry settings. */
export type SettingsInput = { kind: StreamKind; settings?: StreamSettings | undefined } & {
  [K in TopLevelSetting]?: number | undefined;
};

/** A stream's settings given at creation: those in `settings` and those given at the top level. */
export function requestedStreamSettings(input: SettingsInput): StreamSettings {
  const settings: StreamSettings = { ...input.settings };
  for (const name of TOP_LEVEL_SETTINGS) {
    const value = input[name];
    if (value !== undefined) settings[name] = value;
  }
  return settings;
}

/** What is wrong with the settings a stream's creation gives (each issue names its field). */
export function settingsIssues(input: SettingsInput): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  for (const name of TOP_LEVEL_SETTINGS) {
    if (input[name] !== undefined && input.settings?.[name] !== undefined) {
      issues.push({ path: [name], message: `is also given in settings.${name}; give it once` });
    }
  }
  const given = [
    ...TOP_LEVEL_SETTINGS.filter((name) => input[name] !== undefined).map((name) => ({ name, path: [name] })),
    ...settingNames
      .filter((name) => input.settings?.[name] !== undefined)
      .map((name) => ({ name, path: ['settings', name] })),
  ];
  for (const { name, path } of given) {
    const { kind } = settingFields[name];
    if (kind !== input.kind) {
      issues.push({ path, message: `is a setting of ${kind} streams, not of ${input.kind} streams` });
    }
  }
  return issues;
}

/**
 * The effective settings of a stream: what its creator set (`stored`, the `stream.settings`
 * column) with {@link STREAM_SETTINGS_DEFAULTS} for the rest. Settings of other kinds are ignored;
 * a stored value that breaks its rule throws (it was checked when the stream was created).
 */
export function streamSettings<K extends StreamKind>(kind: K, stored: unknown): EffectiveSettings<K> {
  const given = (stored ?? {}) as Record<string, unknown>;
  const effective: Record<string, unknown> = { ...STREAM_SETTINGS_DEFAULTS[kind] };
  for (const name of settingNames) {
    if (settingFields[name].kind !== kind || given[name] === undefined) continue;
    const parsed = settingFields[name].schema.safeParse(given[name]);
    if (!parsed.success) {
      throw new Error(
        `stored setting ${name} of a ${kind} stream is invalid: ${parsed.error.issues[0]!.message}`,
      );
    }
    effective[name] = parsed.data;
  }
  return effective as EffectiveSettings<K>;
}
