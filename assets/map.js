// The stock map: the districts (GeoJSON from the API) as the base map, the lots of the search
// as circles linked to their pages. Optional tiles when the service is configured with them.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var lots = JSON.parse(document.getElementById("lots-data").textContent || "[]");
  var map = L.map(element, { scrollWheelZoom: false, attributionControl: true, minZoom: 9, maxZoom: 18 });
  var tiles = element.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  var bounds = null;
  var markers = L.featureGroup().addTo(map);
  lots.forEach(function (lot) {
    var marker = L.circleMarker([lot.lat, lot.lon], {
      radius: 7, weight: 2, color: "#134d25", fillColor: lot.status === "announced" ? "#f0a500" : "#1d6b35", fillOpacity: 0.85
    });
    var link = document.createElement("a");
    link.href = "/lots/" + lot.id;
    link.textContent = lot.title;
    marker.bindPopup(link);
    marker.addTo(markers);
  });
  if (lots.length > 0) { bounds = markers.getBounds(); }
  fetch("/api/v1/districts", { headers: { "Accept": "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (districts) {
      if (!districts) { return; }
      var features = {
        type: "FeatureCollection",
        features: districts.map(function (d) { return { type: "Feature", properties: { code: d.code, name: d.name }, geometry: d.geometry }; })
      };
      var layer = L.geoJSON(features, {
        style: { color: "#3f4f3f", weight: 1, fillColor: "#cfe0cb", fillOpacity: tiles ? 0.15 : 0.6 },
        onEachFeature: function (feature, shape) {
          var name = feature.properties && (feature.properties.name || feature.properties.code);
          if (name) { shape.bindTooltip(String(name)); }
        }
      }).addTo(map);
      layer.bringToBack();
      map.fitBounds(bounds && bounds.isValid() ? bounds.pad(0.2) : layer.getBounds(), { maxZoom: 15 });
      element.setAttribute("data-ready", "true");
    })
    .catch(function () { element.setAttribute("data-ready", "error"); });
  map.setView([52.07, 4.3], 12);
}());
