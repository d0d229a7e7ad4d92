// Renders the Markdown config reference from the schema's descriptions and defaults (Caddy's docs-from-fields).
// Run: node dist/core/config/docs.js > docs/config.md
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.js';

interface FieldInfo {
  base: z.ZodTypeAny;
  description: string;
  hasDefault: boolean;
  defaultValue: unknown;
  optional: boolean;
}

interface Section {
  title: string;
  object: z.AnyZodObject;
}

function inspectField(schema: z.ZodTypeAny): FieldInfo {
  const info: FieldInfo = { base: schema, description: '', hasDefault: false, defaultValue: undefined, optional: false };
  let s = schema;
  for (;;) {
    if (info.description === '' && s.description !== undefined) info.description = s.description;
    if (s instanceof z.ZodDefault) {
      if (!info.hasDefault) {
        info.hasDefault = true;
        info.defaultValue = (s._def as { defaultValue: () => unknown }).defaultValue();
      }
      s = s.removeDefault();
    } else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      info.optional = true;
      s = s.unwrap();
    } else if (s instanceof z.ZodEffects) {
      if (s.innerType() instanceof z.ZodUnknown) break; // a PEM source: string, { file } or { env }
      s = s.innerType();
    } else {
      break;
    }
  }
  info.base = s;
  return info;
}

function typeName(s: z.ZodTypeAny): string {
  if (s instanceof z.ZodEffects) return 'PEM string \\| `{ file }` \\| `{ env }`';
  if (s instanceof z.ZodString) return 'string';
  if (s instanceof z.ZodNumber) return s.isInt ? 'integer' : 'number';
  if (s instanceof z.ZodBoolean) return 'boolean';
  if (s instanceof z.ZodEnum) return (s.options as string[]).map((o) => `\`"${o}"\``).join(' \\| ');
  if (s instanceof z.ZodLiteral) return `\`${JSON.stringify(s.value)}\``;
  if (s instanceof z.ZodArray) return `list of ${typeName(inspectField(s.element as z.ZodTypeAny).base)}`;
  if (s instanceof z.ZodRecord) return `map of string → ${typeName(inspectField(s.valueSchema as z.ZodTypeAny).base)}`;
  if (s instanceof z.ZodObject) return 'object';
  if (s instanceof z.ZodDiscriminatedUnion) return `object, by \`${s.discriminator as string}\``;
  return 'value';
}

function formatDefault(info: FieldInfo): string {
  if (info.description.includes('Default:')) return '(see description)';
  // optional in the schema only so that its absence is reported with an ngrok code (schema.ts requiredWithCode)
  if (info.description.startsWith('Required.')) return '**required**';
  if (info.hasDefault) return `\`${JSON.stringify(info.defaultValue)}\``;
  return info.optional ? '(none)' : '**required**';
}

// Objects nested in this field become their own sections.
function nestedSections(title: string, base: z.ZodTypeAny): Section[] {
  if (base instanceof z.ZodObject) return [{ title, object: base }];
  if (base instanceof z.ZodArray) return nestedSections(`${title}[]`, inspectField(base.element as z.ZodTypeAny).base);
  if (base instanceof z.ZodDiscriminatedUnion) {
    const key = base.discriminator as string;
    return (base.options as z.AnyZodObject[]).map((option) => {
      const literal = inspectField(option.shape[key] as z.ZodTypeAny).base as z.ZodLiteral<string>;
      return { title: `${title} (${key}: ${literal.value})`, object: option };
    });
  }
  return [];
}

function renderSection(section: Section, out: string[], depth: number): void {
  out.push(`${'#'.repeat(Math.min(depth, 4))} \`${section.title}\``, '', '| Field | Type | Default | Description |', '|---|---|---|---|');
  const children: Section[] = [];
  for (const [name, field] of Object.entries(section.object.shape as Record<string, z.ZodTypeAny>)) {
    const info = inspectField(field);
    if (info.base instanceof z.ZodUndefined) continue; // a field refused on this variant
    const description = info.description.replace(/^Required\. /, '').replace(/\|/g, '\\|');
    out.push(`| \`${name}\` | ${typeName(info.base)} | ${formatDefault(info)} | ${description} |`);
    const prefix = section.title === '(top level)' ? name : `${section.title.replace(/ \(.*\)$/, '')}.${name}`;
    children.push(...nestedSections(prefix, info.base));
  }
  out.push('');
  for (const child of children) renderSection(child, out, depth + 1);
}

export function renderConfigDocs(schema: z.AnyZodObject = configSchema): string {
  const out = [
    '# edgeplane configuration reference',
    '',
    '<!-- Generated from core/config/schema.ts by `node dist/core/config/docs.js > docs/config.md`; do not edit. -->',
    '',
    'The config is YAML or JSON. Field names are the ngrok Edge API names. Every `*_pem` field takes a PEM',
    'string, `{ file: path }` (relative to the config file) or `{ env: VAR }`; values from `{ env }` and every',
    '`private_key_pem` are secrets and are shown as `[redacted]`. Config problems name the path of the',
    'value, as in `edges[2].tls_termination.min_version`.',
    '',
  ];
  renderSection({ title: '(top level)', object: schema }, out, 2);
  return out.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(renderConfigDocs());
}
