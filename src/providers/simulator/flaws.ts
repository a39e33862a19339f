/**
 * Deliberately bad answers, chosen by a model-name suffix (`gpt-4o-mini:badjson`), so cascade verifiers can be
 * tested end to end: the suffixed name serves as the base model with its answer spoiled in one way.
 */
export const FLAWS = ['badjson', 'refuse', 'idk', 'empty', 'badtool'] as const;
export type Flaw = (typeof FLAWS)[number];

const SUFFIX = new RegExp(`:(${FLAWS.join('|')})$`);

export function flawOf(model: unknown): Flaw | undefined {
  return SUFFIX.exec(String(model ?? ''))?.[1] as Flaw | undefined;
}

export function withoutFlaw(model: string): string {
  return model.replace(SUFFIX, '');
}

/** The spoiled text / tool arguments for a flaw (undefined: leave that part as it was). */
export function spoil(flaw: Flaw, text: string): { text?: string; toolArgs?: string } {
  switch (flaw) {
    case 'badjson':
      return { text: text.startsWith('{') ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : '{"answer": ' };
    case 'refuse':
      return { text: "I'm sorry, but I can't help with that." };
    case 'idk':
      return { text: "I don't know." };
    case 'empty':
      return { text: '' };
    case 'badtool':
      return { toolArgs: '{"unterminated": ' };
  }
}
