/**
 * docs/benchmarks.svg: a declarative vega-lite spec over the run's figures (one panel per
 * figure, a bar per path, one colour per origin), rendered headless to SVG by vega.
 */
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import * as vegaLite from 'vega-lite';
import type { BenchRun } from './results.js';

const MIB = 1024 * 1024;

interface Point {
  figure: string;
  origin: string;
  path: string;
  value: number;
}

function points(run: BenchRun): Point[] {
  const { small, concurrent } = run.plan;
  const figures: [string, (target: BenchRun['targets'][number]) => number | undefined][] = [
    [`${small.bytes / 1024} KiB req/s (higher is better)`, (target) => target.small?.reqPerS],
    [
      '100 MiB single download MiB/s (higher is better)',
      (target) => {
        const large = target.single.find((single) => single.bytes === 100 * MIB);
        return large && 100 / (large.ms.median / 1000);
      },
    ],
    [
      `${concurrent.clients}x${concurrent.bytes / MIB} MiB aggregate MiB/s (higher is better)`,
      (target) => target.concurrent?.mibPerS,
    ],
    [
      `peak RSS MiB at ${concurrent.clients}x${concurrent.bytes / MIB} MiB (lower is better)`,
      (target) => target.concurrent?.peakRssMiB,
    ],
  ];
  return figures.flatMap(([figure, measure]) =>
    run.targets.flatMap((target) => {
      const value = measure(target);
      return value === undefined
        ? []
        : [{ figure, origin: target.origin, path: target.path, value }];
    }),
  );
}

/** The chart's vega-lite spec (data inline), for whoever wants to restyle it. */
export function chartSpec(run: BenchRun): TopLevelSpec {
  const paths = [...new Set(run.targets.map((target) => target.path))];
  const data = points(run);
  const figures = [...new Set(data.map((point) => point.figure))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `streamgate benchmark${run.quick ? ' (quick smoke run: not representative)' : ''}`,
      subtitle: `${run.machine.cpuModel}, ${run.machine.cores} cores, Node ${run.machine.node}, ${run.machine.date}`,
    },
    data: { values: data },
    facet: {
      row: {
        field: 'figure',
        type: 'nominal',
        sort: figures,
        title: null,
        header: {
          labelAngle: 0,
          labelAlign: 'left',
          labelAnchor: 'start',
          labelOrient: 'top',
          labelFontWeight: 'bold',
        },
      },
    },
    spec: {
      width: 520,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'path', type: 'nominal', sort: paths, title: null },
        yOffset: { field: 'origin', type: 'nominal' },
        x: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'origin', type: 'nominal', legend: { orient: 'top', title: 'origin' } },
      },
    },
    resolve: { scale: { x: 'independent' } },
    config: { background: 'white' },
  };
}

/** The chart as an SVG document. */
export async function renderChart(run: BenchRun): Promise<string> {
  const compiled = vegaLite.compile(chartSpec(run)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    // Vega puts ARIA roles on <g> elements, which Biome's accessibility rules reject (npm run
    // lint checks docs/ too): the chart is described by one <title> instead.
    const svg = (await view.toSVG()).replace(/\s(?:role|aria-[a-z]+)="[^"]*"/g, '');
    const title = `<title>streamgate benchmark, ${run.machine.date}</title>`;
    return svg.replace(/^<svg[^>]*>/, (open) => open + title);
  } finally {
    view.finalize();
  }
}
