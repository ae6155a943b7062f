// A reading's calendar position in the stream's own time zone. A heating schedule runs on wall-clock
// time, so 03:00 must encode as 03:00 on both sides of a DST change: the fields are read from
// Intl's local rendering of the instant, never computed from a fixed UTC offset.
import { StreamKindInputError } from '../vectors';

const DAY_MS = 86_400_000;

/** Where an instant falls in its local day, week and year. */
export interface LocalTime {
  /** Seconds since local midnight, with the milliseconds as a fraction. */
  secondOfDay: number;
  /** 0 for Monday … 6 for Sunday (ISO 8601's order). */
  dayOfWeek: number;
  /** 0 for 1 January. */
  dayOfYear: number;
  /** 365 or 366. */
  daysInYear: number;
}

// A formatter costs tens of microseconds to build and a stream has one time zone: build one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        // h23: midnight is hour 0 (hour12: false renders it as 24 in some ICU versions).
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new StreamKindInputError(`${timeZone} is not an IANA time zone`);
    }
    formatters.set(timeZone, format);
  }
  return format;
}

/** Throws unless `timeZone` is a zone Intl knows (validating settings before any reading). */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

export function localTime(ms: number, timeZone: string): LocalTime {
  const fields: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
  for (const part of formatter(timeZone).formatToParts(ms))
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  const { year, month, day, hour, minute, second } = fields;
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  )
    throw new StreamKindInputError(`the instant ${ms} has no local date in ${timeZone}`);
  // Zone offsets are whole seconds, so the milliseconds are the same in every zone.
  const millisecond = ((ms % 1000) + 1000) % 1000;
  const midnight = Date.UTC(year, month - 1, day);
  const newYear = Date.UTC(year, 0, 1);
  return {
    secondOfDay: (hour % 24) * 3600 + minute * 60 + second + millisecond / 1000,
    dayOfWeek: (new Date(midnight).getUTCDay() + 6) % 7,
    dayOfYear: Math.round((midnight - newYear) / DAY_MS),
    daysInYear: Math.round((Date.UTC(year + 1, 0, 1) - newYear) / DAY_MS),
  };
}
