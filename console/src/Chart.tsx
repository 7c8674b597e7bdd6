import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// UsageChart draws allowed and denied requests per interval with uPlot
// (a small canvas time-series chart), and the plan's per-interval limit
// as a dashed line when given.
export function UsageChart(props: { data: [number[], number[], number[]]; limit?: number; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const width = Math.max(320, Math.min(1100, el.current.clientWidth || 900));
    const series: uPlot.Series[] = [
      {},
      { label: 'allowed', stroke: '#166534', fill: 'rgba(22,101,52,.12)', width: 2, points: { show: true, size: 4 } },
      { label: 'denied', stroke: '#991b1b', fill: 'rgba(153,27,27,.12)', width: 2, points: { show: true, size: 4 } },
    ];
    const data: uPlot.AlignedData = [...props.data];
    if (props.limit && props.limit > 0) {
      series.push({ label: 'limit per key', stroke: '#854d0e', dash: [6, 6], width: 1, points: { show: false } });
      (data as number[][]).push(props.data[0].map(() => props.limit!));
    }
    const u = new uPlot(
      { width, height: 260, series, scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } }, axes: [{}, { label: 'requests' }] },
      data,
      el.current,
    );
    return () => u.destroy();
  }, [props.data, props.limit]);
  return <div class="chart" ref={el} role="img" aria-label={props.label} data-testid="usage-chart" />;
}
