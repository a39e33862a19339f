/**
 * Model name → ordered deployments. Order of precedence: a configured alias (`models:`), deployments whose model is
 * the name, `provider/model` naming a configured provider, then the first provider whose model globs match.
 */
import type { Deployment, ResolvedConfig } from '../config/load.js';

const globCache = new Map<string, RegExp>();

export function globMatch(glob: string, name: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp('^' + glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    globCache.set(glob, re);
  }
  return re.test(name);
}

export interface Resolution {
  deployments: Deployment[];
  how: 'alias' | 'deployment' | 'provider-prefix' | 'provider-glob' | 'none';
}

function refToDeployment(cfg: ResolvedConfig, ref: string): Deployment | undefined {
  const d = cfg.deployments.get(ref);
  if (d) return d;
  const slash = ref.indexOf('/');
  if (slash <= 0) return undefined;
  const provider = cfg.providers.get(ref.slice(0, slash));
  if (!provider) return undefined;
  return { name: ref, provider, model: ref.slice(slash + 1), headers: {} };
}

export function createResolver(cfg: ResolvedConfig): (model: string) => Resolution {
  const cache = new Map<string, Resolution>();
  const byModel = new Map<string, Deployment[]>();
  for (const d of cfg.deployments.values()) {
    const list = byModel.get(d.model) ?? [];
    list.push(d);
    byModel.set(d.model, list);
  }
  const resolve = (model: string): Resolution => {
    const alias = cfg.aliases.get(model);
    if (alias) return { deployments: alias.map((r) => refToDeployment(cfg, r)).filter((d): d is Deployment => !!d), how: 'alias' };
    const named = byModel.get(model);
    if (named) return { deployments: named, how: 'deployment' };
    const prefixed = refToDeployment(cfg, model);
    if (prefixed) return { deployments: [prefixed], how: 'provider-prefix' };
    for (const p of cfg.providers.values()) {
      if (p.models.some((g) => globMatch(g, model))) return { deployments: [{ name: `${p.name}/${model}`, provider: p, model, headers: {} }], how: 'provider-glob' };
    }
    return { deployments: [], how: 'none' };
  };
  return (model) => {
    let r = cache.get(model);
    if (!r) {
      r = resolve(model);
      // Bounded: request model names are client input.
      if (cache.size < 10_000) cache.set(model, r);
    }
    return r;
  };
}
