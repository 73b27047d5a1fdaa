// The Sales page: revenue per day, from the json_script data.
document.addEventListener("DOMContentLoaded", function () {
  const data = JSON.parse(document.getElementById("revenue-data").textContent);
  new Chart(document.getElementById("revenue-chart"), {type: "bar", data: {labels: data.labels,
    datasets: [{label: document.getElementById("revenue-chart").dataset.wordRevenue, data: data.values, backgroundColor: "#2f5bd3"}]}});
});
