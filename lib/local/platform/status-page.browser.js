// The status page in the browser: every 2 s it takes the page's cards, incidents and log from a fresh
// copy of the page, and draws each cell's charts (uPlot) from /api/history: requests/s, error % and p99
// per version, the alias weights, and release/rollback markers. No other request.
(function () {
  'use strict';
  const REFRESH_MS = 2000;
  const COLOURS = ['#0969da', '#bf3989', '#1a7f37', '#d97706', '#6639ba'];
  const MARKER_COLOURS = { release: '#0969da', rollback: '#cf222e', end: '#59636e' };
  const charts = new Map();

  function swap(fresh, id) {
    const now = document.getElementById(id);
    const next = fresh.getElementById(id);
    if (now && next) now.innerHTML = next.innerHTML;
  }

  /** Rows of [time, value per version] for uPlot; versions in order of first appearance. */
  function table(samples, field) {
    const versions = [];
    for (const s of samples)
      for (const v of s.versions) if (!versions.includes(v.version)) versions.push(v.version);
    const data = [samples.map((s) => s.at / 1000)];
    for (const version of versions) {
      data.push(
        samples.map((s) => {
          const v = s.versions.find((x) => x.version === version);
          return v ? v[field] : null;
        }),
      );
    }
    return { versions, data };
  }

  function markersPlugin(markers) {
    return {
      hooks: {
        draw: [
          (u) => {
            const { ctx, bbox } = u;
            for (const m of markers()) {
              const x = u.valToPos(m.at / 1000, 'x', true);
              if (x < bbox.left || x > bbox.left + bbox.width) continue;
              ctx.save();
              ctx.strokeStyle = MARKER_COLOURS[m.kind] || '#59636e';
              ctx.setLineDash([4, 3]);
              ctx.beginPath();
              ctx.moveTo(x, bbox.top);
              ctx.lineTo(x, bbox.top + bbox.height);
              ctx.stroke();
              ctx.restore();
            }
          },
        ],
      },
    };
  }

  function draw(container, key, title, unit, samples, field, markers) {
    const { versions, data } = table(samples, field);
    const signature = versions.join(',');
    let entry = charts.get(key);
    let replaced;
    if (entry && entry.signature !== signature) {
      // A version came or went: a new chart takes the old one's place.
      entry.plot.destroy();
      replaced = entry.target;
      entry = undefined;
    }
    if (!entry) {
      const target = document.createElement('div');
      target.className = 'chart';
      target.dataset.chart = key;
      if (replaced) replaced.replaceWith(target);
      else container.appendChild(target);
      const plot = new uPlot(
        {
          title,
          width: 300,
          height: 120,
          scales: { x: { time: true } },
          axes: [{}, { size: 44, label: unit }],
          series: [
            {},
            ...versions.map((v, i) => ({
              label: `v${v}`,
              stroke: COLOURS[i % COLOURS.length],
              spanGaps: false,
            })),
          ],
          plugins: [markersPlugin(markers)],
        },
        data,
        target,
      );
      entry = { plot, signature, target };
      charts.set(key, entry);
    } else {
      entry.plot.setData(data);
    }
    entry.target.dataset.points = String(data[0].length);
  }

  let history = { cells: {}, markers: [], incidents: [] };

  function render() {
    for (const [cell, samples] of Object.entries(history.cells)) {
      const container = document.querySelector(`[data-charts="${CSS.escape(cell)}"]`);
      if (!container) continue;
      const markers = () => history.markers.filter((m) => m.cell === cell);
      draw(container, `${cell} rps`, 'requests/s', 'req/s', samples, 'rps', markers);
      draw(container, `${cell} errors`, 'errors %', '%', samples, 'errorPct', markers);
      draw(container, `${cell} p99`, 'p99 ms', 'ms', samples, 'p99Ms', markers);
      draw(container, `${cell} weight`, 'alias weight %', '%', samples, 'weightPct', markers);
    }
    window.bulkheadHistory = history;
  }

  async function refresh() {
    try {
      const [page, data] = await Promise.all([
        fetch(location.pathname, { cache: 'no-store' }).then((r) => r.text()),
        fetch('/api/history', { cache: 'no-store' }).then((r) => r.json()),
      ]);
      const fresh = new DOMParser().parseFromString(page, 'text/html');
      for (const id of ['summary', 'cards', 'incidents', 'events']) swap(fresh, id);
      history = data;
      render();
      document.body.dataset.refreshed = String(Date.now());
    } catch (err) {
      document.getElementById('updated').textContent = `refresh failed (${err.message}); retrying`;
    }
  }

  // The cards are replaced on refresh, the charts live beside them, one block per cell.
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
