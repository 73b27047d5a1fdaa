// The synthesis job page: per-column distribution charts and the pair-trend grid, from the json_script data.
document.addEventListener("DOMContentLoaded", function () {
  const source = document.getElementById("synthesis-plots");
  if (!source) return;  // no report yet
  const plots = JSON.parse(source.textContent);
  const data = plots.distributions || {};
  const pairs = plots.pair_trends;
  const grid = document.getElementById("pair-trends");
  if (pairs && pairs.columns.length) {
    const head = grid.createTHead().insertRow(); head.insertCell().textContent = "";
    pairs.columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.append(th); });
    const body = grid.createTBody();
    pairs.scores.forEach((row, i) => {
      const tr = body.insertRow(); const th = document.createElement("th"); th.textContent = pairs.columns[i]; tr.append(th);
      row.forEach((score) => {
        const td = tr.insertCell(); td.className = "mono";
        td.textContent = score === null ? "" : score.toFixed(2);
        // Red (0) to green (1), lighter as it nears 1: a quick read of which pairs lost their relationship.
        if (score !== null) td.style.background = `hsl(${Math.round(120 * score)}, 60%, ${85 - 10 * (1 - score)}%)`;
      });
    });
  }
  const box = document.getElementById("distribution-charts");
  Object.entries(data).forEach(([name, d]) => {
    const card = document.createElement("div"); card.className = "card";
    const title = document.createElement("div"); title.className = "label"; title.textContent = name;
    const canvas = document.createElement("canvas"); card.append(title, canvas); box.append(card);
    new Chart(canvas, {type: "bar", data: {labels: d.labels, datasets: [
      {label: box.dataset.wordReal, data: d.real, backgroundColor: "#8aa2e6"},
      {label: box.dataset.wordSynthetic, data: d.synthetic, backgroundColor: "#2f5bd3"}]}, options: {plugins: {legend: {display: false}}}});
  });
});
