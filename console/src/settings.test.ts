import { describe, expect, it } from 'vitest';
import { buildSettings, settingFieldOf, settingFields, settingValues } from './settings';

// Kit's and the chat connectors' schemas as GET /api/integrations/providers serves them.
const kit = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event_tag: { type: 'string', default: '{event_title}', maxLength: 255 },
    tag_ids: { type: 'array', items: { type: 'integer', minimum: 1 } },
    field_mapping: { type: 'object', propertyNames: {}, additionalProperties: { type: 'string', minLength: 1 } },
  },
};
const chat = {
  type: 'object',
  properties: {
    channel: { type: 'string', pattern: '^[#@]?[A-Za-z0-9._-]{1,80}$' },
    notifications: {
      type: 'object',
      properties: {
        event_created: { type: 'boolean' },
        event_reminder: { type: 'object', required: ['hours_before'], properties: { hours_before: { type: 'integer', minimum: 1, maximum: 720 } } },
      },
    },
  },
};
const zoom = {
  type: 'object',
  properties: {
    location_types: { type: 'array', items: { type: 'string', enum: ['in_person', 'virtual', 'hybrid'] }, default: ['virtual', 'hybrid'] },
    auto_recording: { type: 'string', enum: ['none', 'local', 'cloud'], default: 'none' },
    weird: { type: 'array', items: { type: 'object' } },
  },
};

describe('integration settings form', () => {
  it('draws a field for each setting, nested objects as their leaves', () => {
    expect(settingFields(kit).map((f) => [f.key, f.kind])).toEqual([
      ['event_tag', 'string'],
      ['field_mapping', 'map'],
      ['tag_ids', 'list'],
    ]);
    expect(settingFields(chat).map((f) => [f.key, f.kind, f.label])).toEqual([
      ['channel', 'string', 'channel'],
      ['notifications.event_created', 'boolean', 'notifications › event created'],
      ['notifications.event_reminder.hours_before', 'integer', 'notifications › event reminder › hours before'],
    ]);
    expect(settingFields(zoom).map((f) => [f.key, f.kind, f.options])).toEqual([
      ['auto_recording', 'enum', ['none', 'local', 'cloud']],
      ['location_types', 'enum-list', ['in_person', 'virtual', 'hybrid']],
      ['weird', 'json', undefined],
    ]);
    // A provider whose schema names no properties: the whole object as JSON.
    expect(settingFields({ type: 'object' })).toEqual([{ path: [], key: '', label: 'settings (JSON object)', kind: 'json', schema: { type: 'object' } }]);
  });

  it('shows the stored settings, else the defaults', () => {
    const f = settingFields(kit);
    expect(settingValues(f, { tag_ids: [3, 4], field_mapping: { 'answers.diet': 'diet', company: 'org' } })).toEqual({
      event_tag: '{event_title}',
      tag_ids: '3, 4',
      field_mapping: 'answers.diet: diet\ncompany: org',
    });
    expect(settingValues(settingFields(zoom), {})).toEqual({ auto_recording: 'none', location_types: ['virtual', 'hybrid'], weird: '' });
  });

  it('saves only what changed, keeps the rest, and an emptied field lets the default apply', () => {
    const f = settingFields(kit);
    const stored = { tag_ids: [3], other: 'kept' };
    const init = settingValues(f, stored);
    // Nothing changed: the stored settings as they are (the default tag is not written).
    expect(buildSettings(f, stored, init, init)).toEqual({ settings: stored, errors: {} });
    expect(buildSettings(f, stored, init, { ...init, event_tag: '', tag_ids: '3, 7', field_mapping: 'company: org' }).settings).toEqual({
      event_tag: '', // Kit's "no event tag": the schema accepts ""
      tag_ids: [3, 7],
      field_mapping: { company: 'org' },
      other: 'kept',
    });
    expect(buildSettings(f, stored, init, { ...init, tag_ids: ' ' }).settings).toEqual({ other: 'kept' });
  });

  it('nests, and removes an object that an emptied field leaves empty', () => {
    const f = settingFields(chat);
    const stored = { channel: '#events', notifications: { event_reminder: { hours_before: 24 } } };
    const init = settingValues(f, stored);
    expect(init['notifications.event_reminder.hours_before']).toBe('24');
    // channel's pattern refuses "": emptied means not set.
    expect(buildSettings(f, stored, init, { ...init, channel: '', 'notifications.event_reminder.hours_before': '' }).settings).toEqual({});
    expect(buildSettings(f, {}, settingValues(f, {}), { ...settingValues(f, {}), 'notifications.event_created': true }).settings).toEqual({
      notifications: { event_created: true },
    });
  });

  it('names what it refuses at the field', () => {
    const f = settingFields(chat);
    const init = settingValues(f, {});
    expect(buildSettings(f, {}, init, { ...init, 'notifications.event_reminder.hours_before': '1.5' }).errors).toEqual({
      'notifications.event_reminder.hours_before': 'Give a whole number.',
    });
    expect(buildSettings(f, {}, init, { ...init, 'notifications.event_reminder.hours_before': '721' }).errors).toEqual({
      'notifications.event_reminder.hours_before': 'Give a number from 1 to 720.',
    });
    const k = settingFields(kit);
    const ki = settingValues(k, {});
    expect(buildSettings(k, {}, ki, { ...ki, tag_ids: '1, x' }).errors).toEqual({ tag_ids: '"x" is not a whole number.' });
    expect(buildSettings(k, {}, ki, { ...ki, field_mapping: 'company org' }).errors).toEqual({ field_mapping: 'Line 1: write "field: target".' });
    const z = settingFields(zoom);
    const zi = settingValues(z, {});
    expect(buildSettings(z, {}, zi, { ...zi, weird: '[{' }).errors.weird).toMatch(/^Not valid JSON/);
    expect(buildSettings(z, {}, zi, { ...zi, location_types: ['hybrid', 'in_person'] }).settings).toEqual({ location_types: ['in_person', 'hybrid'] });
    const whole = settingFields({ type: 'object' });
    expect(buildSettings(whole, {}, { '': '' }, { '': '[1]' }).errors).toEqual({ '': 'Must be a JSON object ({…}).' });
    expect(buildSettings(whole, { a: 1 }, { '': '{"a":1}' }, { '': '{"b": 2}' }).settings).toEqual({ b: 2 });
  });

  it("puts the API's error at the field it names", () => {
    const f = [...settingFields(kit), ...settingFields({ type: 'object', properties: { tags: { type: 'object', properties: { 'registration.confirmed': { type: 'array', items: { type: 'string' } } } } } })];
    expect(settingFieldOf(f, 'settings.tag_ids[0]')).toBe('tag_ids');
    expect(settingFieldOf(f, 'settings.field_mapping.answers.diet')).toBe('field_mapping');
    expect(settingFieldOf(f, 'settings.tags.registration.confirmed[2]')).toBe('tags.registration.confirmed');
    expect(settingFieldOf(f, 'settings.unknown_thing')).toBeUndefined();
    expect(settingFieldOf(f, 'settings')).toBeUndefined();
    expect(settingFieldOf(f, 'name')).toBeUndefined();
    expect(settingFieldOf(settingFields({ type: 'object' }), 'settings.x')).toBe('');
  });
});
