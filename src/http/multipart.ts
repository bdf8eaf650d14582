import { UploadedFile } from '../graphql/types/upload.js';
import { HttpError } from './http-error.js';

/**
 * Turns a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec)
 * into the JSON body it stands for, each mapped variable holding an UploadedFile.
 * The body is already read within the size limit, so files are handed over in memory.
 */
export async function parseMultipartRequest(body: Buffer, contentType: string): Promise<Record<string, unknown>> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw badRequest('malformed multipart/form-data body');
  }
  const operations = jsonField(form, 'operations');
  const map = jsonField(form, 'map');
  if (!isRecord(operations)) throw badRequest('"operations" must be one operation (batches are not supported)');
  if (!isRecord(map)) throw badRequest('"map" must be an object of file field names to variable paths');
  for (const [name, paths] of Object.entries(map)) {
    const file = form.get(name);
    if (!(file instanceof File)) throw badRequest(`"map" names the file field "${name}", which was not sent as a file`);
    if (!Array.isArray(paths)) throw badRequest(`"map.${name}" must be a list of paths`);
    const upload = new UploadedFile(file.name, file.type, new Uint8Array(await file.arrayBuffer()));
    for (const path of paths) setVariable(operations, path, upload);
  }
  return operations;
}

function badRequest(message: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', `multipart request: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonField(form: FormData, name: string): unknown {
  const value = form.get(name);
  if (typeof value !== 'string') throw badRequest(`the "${name}" field is missing`);
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`the "${name}" field is not JSON`);
  }
}

/** Sets `variables.a.0.b`-style paths; only below `variables`, and only where the operations hold a placeholder. */
function setVariable(operations: Record<string, unknown>, path: unknown, value: UploadedFile): void {
  const segments = typeof path === 'string' ? path.split('.') : [];
  if (segments[0] !== 'variables' || segments.length < 2 || segments.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype')) {
    throw badRequest(`"${String(path)}" is not a path under "variables"`);
  }
  let target: unknown = operations;
  for (const segment of segments.slice(0, -1)) {
    target = isRecord(target) || Array.isArray(target) ? (target as Record<string, unknown>)[segment] : undefined;
  }
  const last = segments.at(-1)!;
  if (!(isRecord(target) || Array.isArray(target)) || !Object.hasOwn(target, last)) {
    throw badRequest(`"${path}" does not name a variable of the operation`);
  }
  (target as Record<string, unknown>)[last] = value;
}
