import { distinctImages, segmentsOf, shortDigest } from '../model';
import type { TagHistoryEntry } from '../types';

const WIDTH = 800;
const LABEL = 120;
const ROW = 18;
const AXIS = 28;

/** A stable colour per digest, so one image keeps its colour across rows and reloads. */
function colourOf(digest: string): string {
  const hex = shortDigest(digest);
  const hue = Number.parseInt(hex.slice(0, 6) || '0', 16) % 360;
  return `hsl(${hue} 60% 38%)`;
}

/**
 * Which image the tag pointed to when: one row per image (newest first), a bar for each stretch it was current.
 * The table below it has the same facts in words; the chart's title and description summarise it for screen
 * readers.
 */
export function TimelineChart(props: {
  tag: string;
  entries: TagHistoryEntry[];
  now: number;
  complete: boolean;
}) {
  const { entries, now } = props;
  if (entries.length === 0) return null;
  const rows = distinctImages(entries);
  const segments = segmentsOf(entries, now);
  const t0 = Math.min(...segments.map((s) => s.start));
  const span = Math.max(now - t0, 1);
  const x = (t: number) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 8);
  const height = rows.length * ROW + AXIS;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * span);
  const fmt = new Intl.DateTimeFormat(
    undefined,
    span > 2 * 86400_000
      ? { dateStyle: 'short' }
      : span > 3600_000
        ? { timeStyle: 'short' }
        : { timeStyle: 'medium' },
  );
  const oldest = new Date(t0).toLocaleString();
  return (
    <figure class="timeline">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-labelledby="timeline-title timeline-desc"
        preserveAspectRatio="xMinYMin meet"
      >
        <title id="timeline-title">Which image {props.tag} pointed to over time</title>
        <desc id="timeline-desc">
          {`${entries.length} history entries${props.complete ? '' : ' shown (older ones not loaded)'} over ${rows.length} images since ${oldest}; now ${shortDigest(entries[0]!.image)}.`}
        </desc>
        {rows.map((image, r) => (
          <g key={image}>
            <text x={0} y={r * ROW + 13} class="row-label">
              {shortDigest(image)}
            </text>
            <line x1={LABEL} x2={WIDTH - 8} y1={r * ROW + ROW / 2} y2={r * ROW + ROW / 2} class="row-line" />
          </g>
        ))}
        {segments.map((s) => {
          const r = rows.indexOf(s.image);
          const x1 = x(s.start);
          const w = Math.max(x(s.end) - x1, 3);
          return (
            <rect
              key={s.index}
              x={x1}
              y={r * ROW + 3}
              width={w}
              height={ROW - 6}
              rx={2}
              fill={colourOf(s.image)}
            >
              <title>{`${shortDigest(s.image)}: from ${new Date(s.start).toLocaleString()}${s.index === 0 ? ' until now' : ` to ${new Date(s.end).toLocaleString()}`}`}</title>
            </rect>
          );
        })}
        {ticks.map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={0} y2={rows.length * ROW + 4} class="tick" />
            <text
              x={x(t)}
              y={height - 8}
              class="tick-label"
              text-anchor={t === now ? 'end' : t === t0 ? 'start' : 'middle'}
            >
              {t === now ? 'now' : fmt.format(t)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
