/** `<stream>:<tag>`: exactly one ':', both parts non-empty, no '@' (docs/semantics.md#istag-names). */
export function parseImageStreamTagName(name: string): { stream: string; tag: string } | undefined {
  if (name.includes('@')) return undefined;
  const parts = name.split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { stream: parts[0], tag: parts[1] };
}

/** `<stream>@<id>`: exactly one '@', both parts non-empty (docs/semantics.md#imagestreamimages). */
export function parseImageStreamImageName(name: string): { stream: string; id: string } | undefined {
  const parts = name.split('@');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { stream: parts[0], id: parts[1] };
}
