import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { openApiResponse, openApiV2, openApiV3, openApiV3Index } from '../../functions/http/openapi';
import { encodeOpenApiV2 } from '../../functions/http/openapi-protobuf';
import { routes } from '../../functions/http/routes';

type Json = Record<string, any>;
const v2 = openApiV2() as Json;
const groups = [...new Set(routes.map((r) => r.group))];
const v3 = new Map(groups.map((g) => [g, openApiV3(g) as Json]));
const IS = 'com.github.openshift.api.image.v1.ImageStream';
const openApiPath = (path: string) => path.replace('{ns}', '{namespace}');

describe('OpenAPI documents', () => {
  it('are valid Swagger 2.0 and OpenAPI 3.0 documents', async () => {
    const v2Result = await new Validator().validate(v2);
    expect(v2Result.errors ?? []).toEqual([]);
    expect(v2Result.valid).toBe(true);
    for (const [group, doc] of v3) {
      const result = await new Validator().validate(doc);
      expect(result.errors ?? [], group).toEqual([]);
      expect(result.valid).toBe(true);
    }
  });

  it('have every route of the route table as an operation, in v2 and in its group version v3 document', () => {
    for (const route of routes) {
      const path = openApiPath(route.path);
      const method = route.method.toLowerCase();
      expect(v2.paths[path]?.[method], `v2 ${route.method} ${path}`).toBeDefined();
      expect(v3.get(route.group)!.paths[path]?.[method], `v3 ${route.method} ${path}`).toBeDefined();
      for (const doc of [v2, v3.get(route.group)!])
        expect(doc.paths[path][method]['x-kubernetes-group-version-kind'].group).toBe(route.group);
    }
    const index = openApiV3Index() as Json;
    expect(Object.keys(index.paths).sort()).toEqual(
      groups.map((g) => (g ? `apis/${g}/v1` : 'api/v1')).sort(),
    );
    for (const { serverRelativeURL } of Object.values(index.paths) as Array<{ serverRelativeURL: string }>)
      expect(serverRelativeURL).toMatch(/^\/openapi\/v3\/apis?\/[^?]+\?hash=[0-9A-F]{128}$/);
  });

  it("names definitions as OpenShift does, with OpenShift's descriptions and the kind they are", () => {
    const defs = v2.definitions;
    expect(defs[IS]['x-kubernetes-group-version-kind']).toEqual([
      { group: 'image.openshift.io', version: 'v1', kind: 'ImageStream' },
    ]);
    expect(defs['com.github.openshift.api.image.v1.TagImportPolicy'].description).toBe(
      'TagImportPolicy controls how images related to this tag will be imported.',
    );
    expect(defs['com.github.openshift.api.image.v1.TagImportPolicy'].properties.scheduled.description).toBe(
      'Scheduled indicates to the server that this tag should be periodically checked to ensure it is up to date, and imported',
    );
    expect(defs['com.github.openshift.api.image.v1.TagReference'].properties.from.$ref).toBe(
      '#/definitions/io.k8s.api.core.v1.ObjectReference',
    );
    const v3Spec =
      v3.get('image.openshift.io')!.components.schemas['com.github.openshift.api.image.v1.ImageStreamSpec'];
    expect(v3Spec.properties.lookupPolicy.allOf).toEqual([
      { $ref: '#/components/schemas/com.github.openshift.api.image.v1.ImageLookupPolicy' },
    ]);
  });

  it('marks keyed lists for strategic merge patch and server-side apply', () => {
    const spec = v2.definitions['com.github.openshift.api.image.v1.ImageStreamSpec'].properties.tags;
    expect(spec).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });
    const status = v2.definitions['com.github.openshift.api.image.v1.ImageStreamStatus'].properties.tags;
    expect(status).toMatchObject({
      'x-kubernetes-list-map-keys': ['tag'],
      'x-kubernetes-patch-merge-key': 'tag',
    });
  });

  it('answers JSON, the v2 protobuf form kubectl asks for, 406 for anything else, 404 for what it does not serve', () => {
    const PB = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
    const get = (path: string, accept?: string) => openApiResponse(path, accept ? { accept } : {});
    expect(get('/openapi/v2')?.headers?.['content-type']).toBe('application/json');
    expect(get('/openapi/v2', `application/json, ${PB}`)?.headers?.['content-type']).toBe('application/json');
    const pb = get('/openapi/v2', PB)!;
    expect(pb.statusCode).toBe(200);
    expect(pb.headers?.['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(pb.isBase64Encoded).toBe(true);
    const bytes = Buffer.from(pb.body as string, 'base64');
    // Document.swagger (field 1) first, then every definition by name.
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, ...Buffer.from('2.0')]));
    for (const name of Object.keys(v2.definitions))
      expect(bytes.includes(Buffer.from(name)), name).toBe(true);
    expect(() => get('/openapi/v3', PB)).toThrow(expect.objectContaining({ code: 406 }));
    expect(() => get('/openapi/v2', 'application/yaml')).toThrow(expect.objectContaining({ code: 406 }));
    expect(get('/openapi/v3/api/v1')?.statusCode).toBe(200);
    expect(() => get('/openapi/v3/apis/apps/v1')).toThrow(expect.objectContaining({ code: 404 }));
    expect(() => get('/openapi/v3/apis/image.openshift.io/v2')).toThrow(
      expect.objectContaining({ code: 404 }),
    );
    expect(get('/apis')).toBeUndefined();
  });

  it('refuses to encode a schema keyword protobuf has no field for, rather than drop it', () => {
    expect(() =>
      encodeOpenApiV2({
        swagger: '2.0',
        info: {},
        paths: {},
        definitions: { X: { type: 'object', not: {} } },
      }),
    ).toThrow(/schema keyword not/);
  });
});
