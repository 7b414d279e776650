import { badRequest, FieldError } from '../core/errors';
import { DEFAULT_PRINTER, TABLE_PRINTERS } from '../core/printers';
import type { TableVersion } from './negotiate';

/**
 * A read's answer as a meta.k8s.io Table, as kube-apiserver converts it for kubectl's `get`: the resource's columns
 * (functions/core/printers.ts, the same isctl prints), one row per object (a list's items, or the one object), the
 * list's `resourceVersion` and `continue`. Each row carries its object as `includeObject` asks: `Metadata` (the
 * default) a PartialObjectMetadata, `Object` the whole object, `None` nothing.
 */

export type IncludeObject = 'None' | 'Metadata' | 'Object';
const INCLUDE_OBJECT: IncludeObject[] = ['Metadata', 'None', 'Object'];

/** The `includeObject` query parameter; other values are 400, as kube-apiserver answers them. */
export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  if (value === null || value === '') return 'Metadata';
  if (!(INCLUDE_OBJECT as string[]).includes(value))
    throw badRequest(FieldError.notSupported('includeObject', value, INCLUDE_OBJECT).toString());
  return value as IncludeObject;
}

interface ObjectLike {
  kind?: string;
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  items?: unknown[];
}

export function toTable(
  resource: string,
  body: unknown,
  version: TableVersion,
  includeObject: IncludeObject,
  now: number,
): unknown {
  const printer = TABLE_PRINTERS[resource] ?? DEFAULT_PRINTER;
  const answer = (body ?? {}) as ObjectLike;
  const isList = Array.isArray(answer.items) && (answer.kind ?? '').endsWith('List');
  const objects = (isList ? answer.items! : [answer]) as ObjectLike[];
  const apiVersion = `meta.k8s.io/${version}`;
  const listMeta = isList ? (answer.metadata ?? {}) : {};
  const resourceVersion = isList ? listMeta.resourceVersion : answer.metadata?.resourceVersion;
  return {
    kind: 'Table',
    apiVersion,
    metadata: {
      ...(typeof resourceVersion === 'string' && resourceVersion ? { resourceVersion } : {}),
      ...(typeof listMeta.continue === 'string' && listMeta.continue ? { continue: listMeta.continue } : {}),
    },
    columnDefinitions: printer.columns,
    rows: objects.map((o) => ({
      cells: printer.cells(o, now),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata ?? {} },
          }),
    })),
  };
}
