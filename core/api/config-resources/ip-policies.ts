// /ip_policies and /ip_policy_rules (spec §1.6). Rules live in ip_policies[].rules and the config gives
// them no id, so rule ids are kept in a small map in the state directory (rule id → policy + cidr):
// the id survives restarts, edits of other rules and a PATCH of its own cidr. A rule the config file
// declares gets a stable id derived from its policy and cidr (unique per policy: 1408).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDirFor } from '../daemon-wiring.js';
import { json, page, type ExtensionContext } from '../handler.js';
import { isObject, type Json } from '../validate.js';
import { ipPolicyInUse, notFound } from './errors.js';
import type { Family, Route } from './family.js';
import { methodRoutes } from './family.js';
import { allowOnly, copyFields, ref, writeCommon } from './fields.js';
import { createdAt, newResourceId } from './ids.js';
import { moduleReferences } from './edges.js';
import { commit, indexOfId, newestFirst, rawCollection, rawList, view, type ConfigDaemon, type View } from './store.js';

export const ipPolicies: Family = {
  what: 'ip policy',
  path: '/ip_policies',
  listKey: 'ip_policies',
  prefix: 'ipp_',
  collection: 'ip_policies',
  createFields: ['description', 'metadata'],
  updateFields: ['description', 'metadata'],
  write: () => {},
  render: () => ({}),
  inUse: (config, id) => {
    const by = moduleReferences(config).filter((r) => r.policies.includes(id)).map((r) => r.where);
    return by.length === 0 ? null : ipPolicyInUse(id, by);
  },
};

interface RuleKey { policy: string; cidr: string }
const RULE_PREFIX = 'ipr_';
const RULE_FIELDS = ['cidr', 'action', 'description', 'metadata'] as const;

/** Rule id ↔ (policy, cidr), persisted as JSON in the state directory. */
class RuleIds {
  private readonly byId = new Map<string, RuleKey>();
  constructor(private readonly file: string | null) {
    if (file !== null && existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, RuleKey>;
      for (const [id, key] of Object.entries(saved)) this.byId.set(id, key);
    }
  }
  idOf(policy: string, cidr: string): string {
    for (const [id, key] of this.byId) if (key.policy === policy && key.cidr === cidr) return id;
    return RULE_PREFIX + createHash('sha256').update(`${policy}\n${cidr}`).digest('hex').slice(0, 24);
  }
  set(id: string, key: RuleKey | null): void {
    if (key === null) this.byId.delete(id);
    else this.byId.set(id, key);
    if (this.file === null) return;
    mkdirSync(join(this.file, '..'), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.byId)));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

interface FoundRule { id: string; policy: string; rule: Json }

export function ipPolicyRuleRoutes(deps: ConfigDaemon): Route[] {
  const dir = deps.current.config.admin === null ? null : stateDirFor(deps.current);
  const ids = new RuleIds(dir === null ? null : join(dir, 'ip-policy-rule-ids.json'));
  const allRules = (v: View): FoundRule[] =>
    (v.redacted.ip_policies as Json[]).flatMap((p) => ((p.rules ?? []) as Json[]).map((rule) => ({
      id: ids.idOf(String(p.id), String(rule.cidr)), policy: String(p.id), rule,
    })));
  const find = (v: View, id: string): FoundRule => {
    const found = allRules(v).find((r) => r.id === id);
    if (found === undefined) throw notFound('ip policy rule', id);
    return found;
  };
  const render = (r: FoundRule, v: View) => ({
    id: r.id,
    uri: `${v.base}/ip_policy_rules/${r.id}`,
    created_at: createdAt(r.id, RULE_PREFIX),
    description: r.rule.description ?? '',
    metadata: r.rule.metadata ?? '',
    cidr: r.rule.cidr,
    action: r.rule.action,
    ip_policy: ref(v, 'ip_policies', r.policy),
  });
  const show = (ctx: ExtensionContext, id: string, status = 200) => {
    const v = view(deps, ctx.base);
    return json(status, render(find(v, id), v));
  };
  const rawRules = (doc: Json, policy: string): Json[] => {
    const policies = rawCollection(doc, 'ip_policies', deps.current);
    const item = policies[indexOfId(policies, policy)];
    if (!isObject(item)) throw notFound('ip policy', policy);
    return rawList(item, 'rules');
  };
  /** The raw rule by its cidr (unique per policy), inside the serialised update: positions may have moved. */
  const rawRule = (doc: Json, found: FoundRule): { rules: Json[]; index: number } => {
    const rules = rawRules(doc, found.policy);
    const index = rules.findIndex((r) => isObject(r) && r.cidr === found.rule.cidr);
    if (index < 0) throw notFound('ip policy rule', found.id);
    return { rules, index };
  };

  return [
    ...methodRoutes(/^\/ip_policy_rules$/, {
      get: (ctx) => {
        const v = view(deps, ctx.base);
        return json(200, page(ctx, ctx.base, 'ip_policy_rules', newestFirst(allRules(v).map((r) => render(r, v)))));
      },
      post: async (ctx) => {
        const body = ctx.body();
        allowOnly(body, [...RULE_FIELDS, 'ip_policy_id'], ['cidr', 'action', 'ip_policy_id']);
        const policy = String(body.ip_policy_id);
        const rule: Json = {};
        writeCommon(body, rule);
        copyFields(body, rule, ['cidr', 'action']);
        const id = newResourceId(RULE_PREFIX);
        const refused = await commit(deps, (doc) => { rawRules(doc, policy).push(rule); });
        if (refused !== null) return refused;
        ids.set(id, { policy, cidr: String(rule.cidr) });
        return show(ctx, id, 201);
      },
    }),
    ...methodRoutes(/^\/ip_policy_rules\/([^/]+)$/, {
      get: (ctx) => show(ctx, ctx.params[0]!),
      patch: async (ctx) => {
        const id = ctx.params[0]!;
        const body = ctx.body();
        allowOnly(body, RULE_FIELDS);
        const found = find(view(deps, ctx.base), id);
        let cidr = String(found.rule.cidr);
        const refused = await commit(deps, (doc) => {
          const { rules, index } = rawRule(doc, found);
          const rule = rules[index] as Json;
          writeCommon(body, rule);
          copyFields(body, rule, ['cidr', 'action']);
          cidr = String(rule.cidr);
        });
        if (refused !== null) return refused;
        ids.set(id, { policy: found.policy, cidr });
        return show(ctx, id);
      },
      delete: async (ctx) => {
        const id = ctx.params[0]!;
        const found = find(view(deps, ctx.base), id);
        const refused = await commit(deps, (doc) => {
          const { rules, index } = rawRule(doc, found);
          rules.splice(index, 1);
        });
        if (refused !== null) return refused;
        ids.set(id, null);
        return { status: 204, body: '' };
      },
    }),
  ];
}
