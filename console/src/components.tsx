import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError } from './api';
import { useNow } from './hooks';
import { relativeTime, shortDigest } from './model';
import { href, type Route } from './router';

/**
 * One screen: the document title, a breadcrumb, and a heading that takes the focus when the screen opens, so a
 * screen reader announces where a link led (a hash change moves no focus by itself).
 */
export function Page(props: {
  title: string;
  trail: Array<{ label: string; route: Route }>;
  children: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · imagestreams console`;
    heading.current?.focus();
  }, [props.title]);
  return (
    <>
      {props.trail.length > 0 && (
        <nav aria-label="Breadcrumb" class="breadcrumb">
          <ol>
            {props.trail.map((c) => (
              <li key={c.label}>
                <a href={href(c.route)}>{c.label}</a>
              </li>
            ))}
            <li aria-current="page">{props.title}</li>
          </ol>
        </nav>
      )}
      <h1 tabIndex={-1} ref={heading}>
        {props.title}
      </h1>
      {props.children}
    </>
  );
}

/** A failed call, worded by the server (Status reason and message), announced at once. */
export function ErrorMessage(props: { error: unknown; what?: string }) {
  const forbidden = props.error instanceof ApiError && props.error.code === 403;
  return (
    <div role="alert" class={forbidden ? 'message forbidden' : 'message error'}>
      {props.what && <strong>{props.what}: </strong>}
      {describeError(props.error)}
    </div>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p role="status" class="loading">
      Loading {props.what}…
    </p>
  );
}

/** A time as "5 minutes ago", with the exact time on hover and for machines. */
export function Time(props: { iso: string | undefined }) {
  const now = useNow();
  if (!props.iso) return <span>—</span>;
  const exact = new Date(props.iso).toLocaleString();
  return (
    <time dateTime={props.iso} title={exact}>
      {relativeTime(props.iso, now)}
    </time>
  );
}

/** A digest shown by its first 12 hex digits; the whole digest is in the title and for copying. */
export function Digest(props: { digest: string }) {
  if (!props.digest) return <span>—</span>;
  return (
    <code class="digest" title={props.digest}>
      {shortDigest(props.digest)}
    </code>
  );
}

/** Copies `text` to the clipboard; says so in a polite live region. */
export function CopyButton(props: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setSaid('Copied');
    } catch {
      setSaid('Copy failed: select the text and copy it');
    }
    setTimeout(() => setSaid(''), 2500);
  };
  return (
    <>
      <button type="button" class="copy" aria-label={props.label} onClick={copy}>
        Copy
      </button>
      <span role="status" class="copied">
        {said}
      </span>
    </>
  );
}

/** A pull spec in full, with a copy button. */
export function PullSpec(props: { spec: string | undefined; of: string }) {
  if (!props.spec) return <span>no image yet</span>;
  return (
    <span class="pullspec">
      <code>{props.spec}</code> <CopyButton text={props.spec} label={`Copy pull spec of ${props.of}`} />
    </span>
  );
}

/** The outcome of an action: a success announced politely, a failure as an alert. */
export type Outcome = { ok: true; text: string } | { ok: false; error: unknown; what: string } | undefined;

export function OutcomeMessage(props: { outcome: Outcome }) {
  const o = props.outcome;
  if (!o) return null;
  if (o.ok)
    return (
      <p role="status" class="message ok">
        {o.text}
      </p>
    );
  return <ErrorMessage error={o.error} what={o.what} />;
}
