/**
 * Compiles a template such as `test/{task_id}/image.jpg` once into a function of the values,
 * so that a request only joins strings.
 */
export function compileTemplate(
  template: string,
  names: readonly string[],
): (values: Readonly<Record<string, number>>) => string {
  if (names.length === 0) return () => template;
  const pattern = new RegExp(`\\{(${names.map(escapeRegExp).join('|')})\\}`, 'g');
  const literals: string[] = [];
  const slots: string[] = [];
  let last = 0;
  for (const match of template.matchAll(pattern)) {
    literals.push(template.slice(last, match.index));
    slots.push(match[1] ?? '');
    last = match.index + match[0].length;
  }
  const tail = template.slice(last);
  return (values) => {
    let out = '';
    for (let i = 0; i < slots.length; i++) out += literals[i] + String(values[slots[i] ?? '']);
    return out + tail;
  };
}

function escapeRegExp(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
