// The console's charts, drawn with the vendored ECharts from the numbers the page carries
// (the same numbers as the tables beside each chart).
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("flows-data").textContent || "{}");
  var drawn = [];
  function chart(id) {
    var element = document.getElementById(id);
    if (!element) { return null; }
    var c = echarts.init(element, null, { renderer: "svg" });
    drawn.push(c);
    return c;
  }
  function mark(id) { var e = document.getElementById(id); if (e) { e.setAttribute("data-ready", "true"); } }

  var sankey = chart("sankey");
  if (sankey && data.sankey) {
    sankey.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      series: [{
        type: "sankey", emphasis: { focus: "adjacency" }, nodeGap: 6, left: 10, right: 120,
        data: data.sankey.nodes.map(function (n) { return { name: n.id, label: { formatter: n.label } }; }),
        links: data.sankey.links.map(function (l) {
          return { source: data.sankey.nodes[l.source].id, target: data.sankey.nodes[l.target].id, value: Math.round(l.mass_kg) };
        }),
        label: { formatter: function (p) { var n = data.sankey.nodes.find(function (x) { return x.id === p.name; }); return n ? n.label : p.name; } }
      }]
    });
    mark("sankey");
  }

  var choropleth = chart("choropleth");
  var measure = document.getElementById("measure");
  function drawChoropleth(geo) {
    var key = measure ? measure.value : "out_kg";
    var values = (data.districts || []).map(function (d) { return { name: d.code, value: Math.round(d[key]), label: d.name }; });
    var max = values.reduce(function (m, v) { return Math.max(m, v.value); }, 1);
    choropleth.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) { return (p.data ? p.data.label : p.name) + ": " + (p.value || 0) + " kg"; } },
      visualMap: { min: 0, max: max, left: "left", bottom: 10, text: ["kg", ""], calculable: true, inRange: { color: ["#eef3ec", "#1d6b35"] } },
      series: [{ type: "map", map: "districts", roam: true, nameProperty: "code", data: values }]
    }, true);
    mark("choropleth");
  }
  if (choropleth) {
    fetch("/api/v1/districts", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (districts) {
        var geo = {
          type: "FeatureCollection",
          features: districts.map(function (d) { return { type: "Feature", properties: { code: d.code, name: d.name }, geometry: d.geometry }; })
        };
        echarts.registerMap("districts", geo);
        drawChoropleth(geo);
        if (measure) { measure.addEventListener("change", function () { drawChoropleth(geo); }); }
      })
      .catch(function () { document.getElementById("choropleth").setAttribute("data-ready", "error"); });
  }

  var pipeline = chart("pipeline");
  if (pipeline && data.pipeline) {
    pipeline.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: [data.labels.supply, data.labels.demand] },
      xAxis: { type: "category", data: data.pipeline.map(function (m) { return m.month; }) },
      yAxis: { type: "value", name: "kg" },
      series: [
        { name: data.labels.supply, type: "bar", data: data.pipeline.map(function (m) { return Math.round(m.supply_kg); }), itemStyle: { color: "#1d6b35" } },
        { name: data.labels.demand, type: "line", data: data.pipeline.map(function (m) { return Math.round(m.demand_kg); }), itemStyle: { color: "#9b1c1c" } }
      ]
    });
    mark("pipeline");
  }

  var forecast = chart("forecast");
  var select = document.getElementById("series");
  function drawForecast() {
    var index = select ? Number(select.value) : 0;
    var s = (data.forecast || [])[index];
    if (!s) { return; }
    var months = s.months.map(function (m) { return m.month; });
    forecast.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: months },
      yAxis: { type: "value", name: "kg" },
      series: [
        { name: "low", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, data: s.months.map(function (m) { return Math.round(m.low); }) },
        { name: data.labels.interval, type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(29,107,53,0.25)" }, data: s.months.map(function (m) { return Math.round(m.high - m.low); }) },
        { name: data.labels.expected, type: "line", data: s.months.map(function (m) { return Math.round(m.kg); }), itemStyle: { color: "#134d25" } }
      ]
    }, true);
    document.querySelectorAll(".forecast-table").forEach(function (t) { t.hidden = t.getAttribute("data-series") !== String(index); });
    mark("forecast");
  }
  if (forecast) {
    drawForecast();
    if (select) { select.addEventListener("change", drawForecast); }
  }
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
}());
