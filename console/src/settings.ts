// The integration settings form, without the DOM (settings.test.ts): the
// fields a provider's settings_schema (GET /api/integrations/providers)
// describes, their form values, the settings object a PATCH
// /api/integrations/{id} sends, and which field an API error names.

type Schema = Record<string, any>;

export type SettingKind = 'boolean' | 'string' | 'enum' | 'integer' | 'number' | 'list' | 'enum-list' | 'map' | 'json';

export interface SettingField {
  path: string[]; // ["notifications", "event_reminder", "hours_before"]
  key: string; // the path joined with "."
  label: string; // "notifications › event reminder › hours before"
  kind: SettingKind;
  schema: Schema;
  description?: string;
  options?: string[]; // enum, enum-list
  itemType?: 'integer' | 'number' | 'string'; // list
}

export type SettingValue = string | boolean | string[];

const human = (s: string) => s.replace(/_/g, ' ');

// settingFields flattens a settings schema into form fields: nested
// objects with properties become their leaves; a free-form map
// (additionalProperties a schema) is "key: value" lines; anything the form
// cannot draw is JSON. A schema without properties is one JSON field for
// the whole object.
export function settingFields(schema: Schema | null | undefined): SettingField[] {
  const props = schema?.properties;
  if (!props || typeof props !== 'object' || Object.keys(props).length === 0) {
    return [{ path: [], key: '', label: 'settings (JSON object)', kind: 'json', schema: schema ?? {} }];
  }
  const out: SettingField[] = [];
  const walk = (p: Schema, prefix: string[]) => {
    for (const name of Object.keys(p).sort()) {
      const s: Schema = p[name] ?? {};
      const path = [...prefix, name];
      const base = { path, key: path.join('.'), label: path.map(human).join(' › '), schema: s, description: s.description };
      if (s.type === 'object' && s.properties && Object.keys(s.properties).length > 0) {
        walk(s.properties, path);
      } else if (s.type === 'boolean') out.push({ ...base, kind: 'boolean' });
      else if (s.type === 'string' && Array.isArray(s.enum)) out.push({ ...base, kind: 'enum', options: s.enum.map(String) });
      else if (s.type === 'string') out.push({ ...base, kind: 'string' });
      else if (s.type === 'integer' || s.type === 'number') out.push({ ...base, kind: s.type });
      else if (s.type === 'array' && s.items?.type === 'string' && Array.isArray(s.items.enum))
        out.push({ ...base, kind: 'enum-list', options: s.items.enum.map(String) });
      else if (s.type === 'array' && ['integer', 'number', 'string'].includes(s.items?.type))
        out.push({ ...base, kind: 'list', itemType: s.items.type });
      else if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && s.additionalProperties.type === 'string')
        out.push({ ...base, kind: 'map' });
      else out.push({ ...base, kind: 'json' });
    }
  };
  walk(props, []);
  return out;
}

function getPath(obj: unknown, path: string[]): unknown {
  let v: any = obj;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[p];
  }
  return v;
}

// settingValues are the form's values: the stored setting, else the
// schema's default (so the form shows what applies).
export function settingValues(fields: SettingField[], settings: Record<string, unknown> | null | undefined): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  for (const f of fields) {
    const stored = f.path.length === 0 ? settings ?? undefined : getPath(settings, f.path);
    const v: any = stored ?? f.schema.default;
    switch (f.kind) {
      case 'boolean':
        out[f.key] = v === true;
        break;
      case 'string':
      case 'enum':
        out[f.key] = typeof v === 'string' ? v : '';
        break;
      case 'integer':
      case 'number':
        out[f.key] = typeof v === 'number' ? String(v) : '';
        break;
      case 'list':
        out[f.key] = Array.isArray(v) ? v.join(', ') : '';
        break;
      case 'enum-list':
        out[f.key] = Array.isArray(v) ? v.map(String) : [];
        break;
      case 'map':
        out[f.key] = Object.entries(v && typeof v === 'object' ? v : {})
          .map(([k, x]) => `${k}: ${x}`)
          .join('\n');
        break;
      default:
        out[f.key] = stored === undefined ? '' : JSON.stringify(stored, null, 2);
    }
  }
  return out;
}

// acceptsEmpty: may the string setting be "" (Kit's event_tag "" tags
// nothing), or does an empty field mean "not set, the default applies"?
function acceptsEmpty(s: Schema): boolean {
  if ((s.minLength ?? 0) > 0) return false;
  if (typeof s.pattern === 'string') {
    try {
      return new RegExp(s.pattern).test('');
    } catch {
      return false;
    }
  }
  return true;
}

function setPath(root: Record<string, any>, path: string[], v: unknown): Record<string, any> {
  if (path.length === 0) return v as Record<string, any>;
  let o = root;
  for (const p of path.slice(0, -1)) {
    if (o[p] === null || typeof o[p] !== 'object' || Array.isArray(o[p])) o[p] = {};
    o = o[p];
  }
  o[path[path.length - 1]] = v;
  return root;
}

// deletePath removes a setting and the objects it leaves empty.
function deletePath(root: Record<string, any>, path: string[]): Record<string, any> {
  if (path.length === 0) return {};
  const parents: Record<string, any>[] = [root];
  let o: any = root;
  for (const p of path.slice(0, -1)) {
    o = o?.[p];
    if (o === null || typeof o !== 'object') return root;
    parents.push(o);
  }
  delete o[path[path.length - 1]];
  for (let i = parents.length - 1; i > 0; i--) {
    if (Object.keys(parents[i]).length > 0) break;
    delete parents[i - 1][path[i - 1]];
  }
  return root;
}

const isInt = (s: string) => /^-?\d+$/.test(s);
const isNum = (s: string) => s !== '' && !isNaN(Number(s));

function range(s: Schema, n: number): string | null {
  const lo = s.minimum, hi = s.maximum;
  if ((lo !== undefined && n < lo) || (hi !== undefined && n > hi)) {
    if (lo !== undefined && hi !== undefined) return `Give a number from ${lo} to ${hi}.`;
    return lo !== undefined ? `Give a number of at least ${lo}.` : `Give a number of at most ${hi}.`;
  }
  return null;
}

// buildSettings is the settings object to save: the stored settings with
// each field the person changed (compared with the form's first values)
// set, or removed when emptied (its default applies), and the fields the
// form refuses, by key.
export function buildSettings(
  fields: SettingField[],
  stored: Record<string, unknown> | null | undefined,
  initial: Record<string, SettingValue>,
  values: Record<string, SettingValue>,
): { settings: Record<string, unknown>; errors: Record<string, string> } {
  let out: Record<string, any> = structuredClone(stored ?? {});
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (JSON.stringify(v) === JSON.stringify(initial[f.key])) continue;
    const clear = () => (out = deletePath(out, f.path));
    const put = (x: unknown) => (out = setPath(out, f.path, x));
    switch (f.kind) {
      case 'boolean':
        put(v === true);
        break;
      case 'string': {
        const s = String(v).trim();
        if (s === '' && !acceptsEmpty(f.schema)) clear();
        else put(s);
        break;
      }
      case 'enum':
        if (v === '') clear();
        else put(v);
        break;
      case 'integer':
      case 'number': {
        const s = String(v).trim();
        if (s === '') {
          clear();
          break;
        }
        if (f.kind === 'integer' ? !isInt(s) : !isNum(s)) {
          errors[f.key] = f.kind === 'integer' ? 'Give a whole number.' : 'Give a number.';
          break;
        }
        const bad = range(f.schema, Number(s));
        if (bad) errors[f.key] = bad;
        else put(Number(s));
        break;
      }
      case 'list': {
        const items = String(v)
          .split(/[\s,]+/)
          .map((x) => x.trim())
          .filter(Boolean);
        if (items.length === 0) {
          clear();
          break;
        }
        if (f.itemType === 'string') {
          put(items);
          break;
        }
        const badItem = items.find((x) => (f.itemType === 'integer' ? !isInt(x) : !isNum(x)));
        if (badItem !== undefined) errors[f.key] = `"${badItem}" is not a ${f.itemType === 'integer' ? 'whole number' : 'number'}.`;
        else put(items.map(Number));
        break;
      }
      case 'enum-list': {
        const picked = (v as string[]).filter((x) => f.options?.includes(x));
        if (picked.length === 0) clear();
        else put(f.options!.filter((o) => picked.includes(o)));
        break;
      }
      case 'map': {
        const lines = String(v)
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        const m: Record<string, string> = {};
        for (let i = 0; i < lines.length; i++) {
          const at = lines[i].indexOf(':');
          if (at <= 0) {
            errors[f.key] = `Line ${i + 1}: write "field: target".`;
            break;
          }
          m[lines[i].slice(0, at).trim()] = lines[i].slice(at + 1).trim();
        }
        if (errors[f.key]) break;
        if (lines.length === 0) clear();
        else put(m);
        break;
      }
      default: {
        const s = String(v).trim();
        if (s === '') {
          clear();
          break;
        }
        try {
          const parsed = JSON.parse(s);
          if (f.path.length === 0 && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
            errors[f.key] = 'Must be a JSON object ({…}).';
          } else put(parsed);
        } catch (e) {
          errors[f.key] = `Not valid JSON: ${(e as Error).message}`;
        }
      }
    }
  }
  return { settings: out, errors };
}

// settingFieldOf maps an API error field (settings.tag_ids[0],
// settings.field_mapping.answers.diet, settings.notifications) to the key
// of the form field that shows it: the longest field path it starts with;
// undefined when none (the error is the form's).
export function settingFieldOf(fields: SettingField[], apiField: string | undefined): string | undefined {
  if (!apiField || (apiField !== 'settings' && !apiField.startsWith('settings.'))) return undefined;
  const rest = apiField.slice('settings.'.length).replace(/\[\d+\]/g, '');
  let best: SettingField | undefined;
  for (const f of fields) {
    if (f.key === '' && !best) best = f;
    else if (f.key !== '' && (rest === f.key || rest.startsWith(f.key + '.')) && f.key.length > (best?.key.length ?? -1)) best = f;
  }
  return best?.key;
}
