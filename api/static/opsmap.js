// The operations map (issue #19): Leaflet, the city's roads and zones, live vehicles and alerts for
// the police, route requests for dispatchers, check-in lookups for loading sites. No build step:
// plain ES2020 served as is. Everything the tests and the browser benchmark reach is on `window.ops`.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const ll = ([lon, lat]) => [lat, lon];
  const ALERT_KINDS = ["zone_entry", "route_deviation", "speeding", "unchecked_movement", "flow_overdue", "checkin_refused", "out_of_province", "invalid_event"];
  const MAX_ALERTS_SHOWN = 500;

  const ops = {
    role: null, city: null, kinds: {}, zoneLayers: new Map(), vehicles: new Map(), alerts: new Map(),
    selected: null, feeds: [], derived: [], flowsAsked: 0, flowsPending: 0, routeLayer: null, vehicleRoute: null, pick: { next: "from", from: null, to: null },
  };
  window.ops = ops;

  // ---- the map -------------------------------------------------------------------------------------
  const map = L.map("map", { zoomControl: true, worldCopyJump: false }).setView([45.75, 126.63], 12);
  ops.map = map;
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  const roadRenderer = L.canvas({ padding: 0.3, tolerance: 0 });  // thousands of polylines: one canvas
  map.createPane("alertsPane").style.zIndex = 640;  // alerts above vehicles' arrows, below popups
  const layers = {
    zones: L.layerGroup().addTo(map), route: L.layerGroup().addTo(map), vehicleRoute: L.layerGroup().addTo(map),
    picks: L.layerGroup().addTo(map), alerts: L.layerGroup().addTo(map),
  };
  ops.layers = layers;

  const cityTime = (iso, withDate = false) => {
    if (!iso) return "—";
    const options = { timeZone: ops.city?.timezone || "Asia/Shanghai", hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
    return new Intl.DateTimeFormat("zh-CN", options).format(new Date(iso));
  };
  ops.cityTime = cityTime;

  const key = () => $("key").value.trim();
  async function api(path, options = {}) {
    const response = await fetch(path, { ...options, headers: { "X-API-Key": key(), "Content-Type": "application/json", ...(options.headers || {}) } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${response.status} ${JSON.stringify(body.detail ?? body)}`);
    return body;
  }

  async function loadBase() {
    const data = await (await fetch("/v1/zones")).json();
    ops.city = data.city; ops.kinds = data.kinds || {};
    $("title").textContent = `${data.city.name} ${data.city.name_en || ""} · 危险货物道路运输监管`;
    let bounds = null, graph = true;
    if (data.city.tiles) {  // the city's own XYZ tile server
      L.tileLayer(data.city.tiles.url, { attribution: esc(data.city.tiles.attribution), maxZoom: 19, subdomains: "abc" }).addTo(map);
    } else {
      bounds = await drawRoads();
      graph = bounds !== null;
    }
    if (data.city.derive_water_sources && graph) {  // OSM's reservoirs: zones for the router and the monitor too
      const derived = await fetch("/v1/zones/derived").then((r) => (r.ok ? r.json() : null)).catch(() => null);
      ops.derived = derived ? derived.features : [];
    }
    drawZones(data.features);
    if (!bounds && ops.zoneBounds && ops.zoneBounds.isValid()) bounds = ops.zoneBounds.pad(0.2);
    if (bounds) map.fitBounds(bounds);
    setInterval(refreshZones, 60_000);  // windows open and close: grey the zones not in force now
  }

  async function drawRoads() {
    // the base layer when no tile server is configured: the city's road network from its own graph
    const response = await fetch("/v1/roads");
    if (!response.ok) { map.attributionControl.addAttribution("no road graph"); return null; }
    const roads = await response.json();
    const style = { minor: { color: "#d3cdbd", weight: 1 }, major: { color: "#a89f8a", weight: 2.2 } };
    let bounds = null;
    for (const cls of ["minor", "major"]) {
      const lines = (roads[cls] || []).map((line) => line.map(ll));
      if (!lines.length) continue;
      const layer = L.polyline(lines, { ...style[cls], renderer: roadRenderer, interactive: false, smoothFactor: 1.2 }).addTo(map);
      bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
      layer.bringToBack();
    }
    ops.roadCount = (roads.minor || []).length + (roads.major || []).length;
    map.attributionControl.addAttribution("© OpenStreetMap contributors · roads and zones from the city's own data");
    return bounds;
  }

  function zoneStyle(p) {
    const colour = p.active === false ? "#9a9a9a" : (ops.kinds[p.kind]?.colour || "#555");
    return { color: colour, fillColor: colour, weight: 1.5, fillOpacity: p.active === false ? 0.08 : 0.2, dashArray: null, className: `zone zone-${p.kind}${p.active === false ? " inactive" : ""}` };
  }

  function zoneTooltip(p) {
    const kind = ops.kinds[p.kind] || { zh: p.kind, en: p.kind };
    const windows = p.windows ? p.windows.map((w) => `${w.start}–${w.end}${w.days && w.days.length < 7 ? " " + w.days.join(",") : ""}`).join("; ") : "全天 always";
    const applies = p.applies_to ? [...(p.applies_to.hazard_classes || []).map((c) => `class ${c}`), ...(p.applies_to.un_numbers || [])].join(", ") : "全部危险货物 every hazmat load";
    return `<b>${esc(p.name || p.id)}</b> <span class="muted">${esc(p.id)}</span><br>${esc(kind.zh)} ${esc(kind.en)}${p.active === false ? " · 当前不生效 not in force now" : ""}` +
      (p.kind === "designated_road" ? `<br>规定路线 of ${esc(p.area)}` : `<br>时段 windows: ${esc(windows)}<br>适用 applies to: ${esc(applies)}`) +
      (p.source ? `<br>来源 source: ${esc(p.source)}` : "");
  }

  function drawZones(features) {
    layers.zones.clearLayers(); ops.zoneLayers.clear();
    let bounds = null;
    for (const f of [...ops.derived, ...features]) {
      const p = f.properties, line = f.geometry.type.endsWith("LineString");
      const style = line ? { color: ops.kinds.designated_road?.colour || "#33a02c", weight: 4, opacity: 0.85, className: "designated-road" } : zoneStyle(p);
      const layer = L.geoJSON(f, { style }).bindTooltip(zoneTooltip(p), { sticky: true }).addTo(layers.zones);
      layer.feature = f;
      ops.zoneLayers.set(p.id, layer);
      layer.eachLayer((l) => { const el = l.getElement && l.getElement(); if (el) { el.dataset.zone = p.id; if (line) el.dataset.area = p.area; } });
      bounds = bounds ? bounds.extend(layer.getBounds()) : L.latLngBounds(layer.getBounds().getSouthWest(), layer.getBounds().getNorthEast());
    }
    ops.zoneBounds = bounds;
    markRouteZones();
  }
  ops.drawZones = drawZones;

  async function refreshZones() {
    const data = await (await fetch("/v1/zones")).json().catch(() => null);
    if (data) drawZones(data.features);
  }

  // ---- roles ---------------------------------------------------------------------------------------
  async function signIn() {
    const k = key();  // the key of this call: the field may change while whoami is on its way
    localStorage.setItem("hazmat-key", k);
    const who = k ? await api("/v1/whoami").catch(() => null) : null;
    if (k !== key()) return;  // a newer key was entered meanwhile: its own call decides
    setRole(who);
  }

  function setRole(who) {
    for (const source of ops.feeds) source.close();
    ops.feeds = [];
    ops.role = who ? who.role : null;
    $("whoami").textContent = who ? `${who.name} · ${{ police: "交警 police", dispatcher: "调度 dispatcher", site: "装货站 loading site " + (who.site_id || "") }[who.role]}` : (key() ? "密钥无效 unknown key" : "未登录：仅显示地图 not signed in: the map only");
    document.body.dataset.role = ops.role || "";
    for (const section of document.querySelectorAll("section[data-roles]")) section.hidden = !ops.role || !section.dataset.roles.split(" ").includes(ops.role);
    if (ops.role !== "police") { vehicleLayer.remove(); ops.vehicles.clear(); layers.alerts.clearLayers(); ops.alerts.clear(); $("alerts").innerHTML = ""; layers.vehicleRoute.clearLayers(); }
    if (ops.role !== "dispatcher") { layers.picks.clearLayers(); layers.route.clearLayers(); ops.routeLayer = null; ops.routeZones = null; markRouteZones(); }
    if (ops.role === "police") startPolice();
  }

  // ---- police: vehicles ----------------------------------------------------------------------------
  // Every vehicle is drawn on one canvas (2,000 DOM markers cost the browser 60–100 ms a second to
  // repaint, benchmarks/bench_page.py); clicks and hovers are hit-tested against the drawn positions.
  const STATE_COLOURS = { ok: "#2a8a3a", alerting: "#d00000", unchecked: "#7b2fbf" };
  const HIT_PX = 12;

  const VehicleLayer = L.Layer.extend({
    onAdd(m) {
      this._canvas = L.DomUtil.create("canvas", "vehicles-canvas leaflet-zoom-hide");
      m.getPane("vehiclesPane").appendChild(this._canvas);
      m.on("moveend zoomend resize viewreset", this._reset, this);
      this._reset();
    },
    onRemove(m) {
      m.off("moveend zoomend resize viewreset", this._reset, this);
      L.DomUtil.remove(this._canvas);
    },
    _reset() {
      const size = map.getSize(), dpr = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
      Object.assign(this._canvas, { width: size.x * dpr, height: size.y * dpr });
      Object.assign(this._canvas.style, { width: `${size.x}px`, height: `${size.y}px` });
      this.draw();
    },
    redraw() {  // coalesced: many batches before a frame make one drawing
      if (!this._frame) this._frame = requestAnimationFrame(() => { this._frame = null; this.draw(); });
    },
    draw() {
      if (!this._canvas) return;
      const started = performance.now();
      const ctx = this._canvas.getContext("2d"), dpr = window.devicePixelRatio || 1, size = map.getSize();
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      ctx.lineWidth = 1.5; ctx.strokeStyle = "#fff";
      let drawn = 0;
      for (const entry of ops.vehicles.values()) {
        const v = entry.data, p = map.latLngToContainerPoint([v.lat, v.lon]);
        entry.point = p;
        if (p.x < -HIT_PX || p.y < -HIT_PX || p.x > size.x + HIT_PX || p.y > size.y + HIT_PX) continue;
        drawn += 1;
        ctx.fillStyle = STATE_COLOURS[v.state] || "#555";
        ctx.save(); ctx.translate(p.x, p.y);
        ctx.beginPath();
        if (v.heading == null) ctx.arc(0, 0, 6.5, 0, 2 * Math.PI);
        else { ctx.rotate((v.heading * Math.PI) / 180); ctx.moveTo(0, -10); ctx.lineTo(8, 9); ctx.lineTo(0, 4.5); ctx.lineTo(-8, 9); ctx.closePath(); }
        ctx.fill(); ctx.stroke(); ctx.restore();
        if (v.plate === ops.selected) { ctx.beginPath(); ctx.arc(p.x, p.y, 13, 0, 2 * Math.PI); ctx.strokeStyle = "#06c"; ctx.lineWidth = 2.5; ctx.stroke(); ctx.lineWidth = 1.5; ctx.strokeStyle = "#fff"; }
      }
      this.drawn = drawn;
      this.lastDrawMs = performance.now() - started;  // what the browser benchmark reports
    },
    at(point) {  // the vehicle drawn nearest to a container point, within HIT_PX
      let best = null, bestD = HIT_PX * HIT_PX;
      for (const entry of ops.vehicles.values()) {
        if (!entry.point) continue;
        const dx = entry.point.x - point.x, dy = entry.point.y - point.y, d = dx * dx + dy * dy;
        if (d <= bestD) { best = entry; bestD = d; }
      }
      return best;
    },
  });
  map.createPane("vehiclesPane").style.zIndex = 620;  // above zones and routes, below alerts and popups
  map.getPane("vehiclesPane").style.pointerEvents = "none";
  const vehicleLayer = new VehicleLayer();
  ops.vehicleLayer = vehicleLayer;
  const hover = L.tooltip({ direction: "top", offset: [0, -10] });

  map.on("click", (e) => {
    if (ops.role !== "police") return;
    const hit = vehicleLayer.at(e.containerPoint);
    if (hit) selectVehicle(hit.data.plate);
  });
  map.on("mousemove", (e) => {
    if (ops.role !== "police") return;
    const hit = vehicleLayer.at(e.containerPoint);
    map.getContainer().style.cursor = hit ? "pointer" : "";
    if (hit) hover.setLatLng([hit.data.lat, hit.data.lon]).setContent(esc(hit.data.plate)).addTo(map);
    else hover.remove();
  });

  function placeVehicle(v) {
    const entry = ops.vehicles.get(v.plate);
    if (entry && Date.parse(v.at) < Date.parse(entry.data.at)) return;  // a snapshot older than a batch already shown
    if (entry) entry.data = v;
    else ops.vehicles.set(v.plate, { data: v, point: null });
  }

  function applyPositions(batch) {
    // one second's changes at once (the stream batches them per vehicle): moved, turned, recoloured
    if (!batch.length) return;
    for (const v of batch) placeVehicle(v);
    if (ops.role === "police" && !map.hasLayer(vehicleLayer)) vehicleLayer.addTo(map);
    vehicleLayer.redraw();
    $("fleet-count").textContent = `${ops.vehicles.size} 辆 vehicles`;
    if (ops.selected && batch.some((v) => v.plate === ops.selected)) {
      const v = ops.vehicles.get(ops.selected).data;
      renderVehicleHeader(v);
      if (ops.vehiclePopup && ops.vehiclePopup.isOpen()) ops.vehiclePopup.setLatLng([v.lat, v.lon]);
    }
  }
  ops.applyPositions = applyPositions;
  ops.vehiclePoint = (plate) => {  // where a vehicle is drawn, in container pixels (the tests click there)
    const entry = ops.vehicles.get(plate);
    return entry ? map.latLngToContainerPoint([entry.data.lat, entry.data.lon]) : null;
  };

  async function selectVehicle(plate) {
    ops.selected = plate;
    vehicleLayer.redraw();
    const entry = ops.vehicles.get(plate);
    $("vehicle").innerHTML = `<b>${esc(plate)}</b> 加载中 loading…`;
    let file;
    try { file = await api(`/v1/vehicles/${encodeURIComponent(plate)}`); } catch (err) { $("vehicle").innerHTML = `<span class="error">${esc(err.message)}</span>`; return; }
    if (ops.selected !== plate) return;
    renderVehicle(file);
    layers.vehicleRoute.clearLayers();
    if (file.route && file.route.geometry) {
      ops.vehicleRoute = L.polyline(file.route.geometry.coordinates.map(ll), { color: "#0a6cff", weight: 5, opacity: 0.75, className: "vehicle-route" }).addTo(layers.vehicleRoute);
    }
    if (entry) ops.vehiclePopup = L.popup({ offset: [0, -8] }).setLatLng([entry.data.lat, entry.data.lon]).setContent(`<b>${esc(plate)}</b><br>${loadLine(file)}`).openOn(map);
  }
  ops.selectVehicle = selectVehicle;

  function loadLine(file) {
    const load = file.checkin ? file.checkin.load : [];
    return load.length ? load.map((l) => `${esc(l.un_number)} ${esc(l.name)} (${esc(l.hazard_class)}) ${Math.round(l.quantity_kg).toLocaleString()} kg`).join("<br>") : "无查验记录 no check-in on file";
  }

  function renderVehicleHeader(v) {
    const head = $("vehicle-head");
    if (!head || !v) return;
    head.innerHTML = `<span class="badge ${esc(v.state)}">${esc({ ok: "正常 ok", alerting: "告警 alerting", unchecked: "未查验 unchecked" }[v.state] || v.state)}</span> ` +
      `${cityTime(v.at)} · ${v.speed_kmh ?? "—"} km/h · ${v.heading == null ? "—" : Math.round(v.heading) + "°"} · ${v.lat.toFixed(5)}, ${v.lon.toFixed(5)}`;
  }

  function findingsList(findings) {
    return findings.length ? `<ul class="findings">${findings.map((f) => `<li><span class="badge ${esc(f.severity)}">${esc(f.rule_id)}</span> ${esc(f.message_zh)}<br><span class="en">${esc(f.message_en)}</span></li>`).join("")}</ul>` : "";
  }

  function renderVehicle(file) {
    const c = file.checkin, r = file.route;
    const load = c ? `<table><tr><th>UN</th><th>品名 name</th><th>类 class</th><th>kg</th></tr>${c.load.map((l) => `<tr><td>${esc(l.un_number)}</td><td>${esc(l.name)}</td><td>${esc(l.hazard_class)}</td><td>${Math.round(l.quantity_kg).toLocaleString()}</td></tr>`).join("")}</table>` : "无查验记录 no check-in on file";
    const verdict = c ? `<span class="badge ${esc(c.verdict.verdict)}">${esc(c.verdict.verdict)}</span> ${esc(c.site_id)} ${cityTime(c.occurred_at, true)}${findingsList(c.verdict.findings)}` : "—";
    const route = r ? `${esc(r.route_id)}: ${(r.length_m / 1000).toFixed(1)} km, 预计到达 arrive ${cityTime(r.arrive_at, true)}${r.avoided.length ? "<br>避让 avoids: " + r.avoided.map((a) => esc(a.zone_id || a.kind)).join(", ") : ""}` : "无核准路线记录 no route issued on record";
    const flows = file.flows.length ? `<ul class="findings">${file.flows.map((f) => `<li>${esc(f.un_number)} ${esc(f.name)} ${Math.round(f.quantity_kg).toLocaleString()} kg → ${esc(f.consignee || f.destination || "—")} · 装 ${cityTime(f.opened_at, true)}${f.overdue ? ' <span class="badge overdue">超时 overdue</span>' : ""}</li>`).join("")}</ul>` : "无 none";
    const alerts = file.recent_alerts.length ? `<ul class="findings">${file.recent_alerts.slice().reverse().map((a) => `<li>${cityTime(a.at)} ${esc(a.kind)}${a.state === "cleared" ? " (已解除 cleared)" : ""}: ${esc(a.message_zh)}</li>`).join("")}</ul>` : "无 none";
    $("vehicle").innerHTML = `<h3 id="vehicle-plate">${esc(file.plate)}</h3><div id="vehicle-head">${file.position ? "" : "尚无位置 no position since the API started"}</div>` +
      `<h4>装载 load</h4><div id="vehicle-load">${load}</div><h4>最近查验 last verdict</h4><div id="vehicle-verdict">${verdict}</div>` +
      `<h4>路线 route issued</h4><div id="vehicle-route">${route}</div><h4>流向 open flows</h4><div id="vehicle-flows">${flows}</div>` +
      `<h4>告警 alerts</h4><div id="vehicle-alerts">${alerts}</div>`;
    renderVehicleHeader(file.position);
  }

  // ---- police: alerts ------------------------------------------------------------------------------
  function alertText(a) {
    return `${cityTime(a.at)} ${a.plate ?? "—"} ${a.kind}${a.state === "cleared" ? " (已解除 cleared)" : ""}: ${a.message_zh}`;
  }

  function addAlert(a, fresh) {
    if (ops.alerts.has(a.alert_id)) return;
    const li = document.createElement("li");
    li.className = `${a.severity} ${a.state === "cleared" ? "cleared" : "raised"}${fresh ? " fresh" : ""}`;
    li.dataset.alertId = a.alert_id; li.dataset.kind = a.kind;
    li.textContent = alertText(a);
    li.title = a.message_en;
    li.hidden = !!$("alert-filter").value && $("alert-filter").value !== a.kind;
    li.onclick = () => focusAlert(a.alert_id);
    const when = Date.parse(a.at);  // newest first: above the first one not newer than this
    let below = $("alerts").firstElementChild;
    while (below && Date.parse(ops.alerts.get(below.dataset.alertId).alert.at) > when) below = below.nextElementSibling;
    $("alerts").insertBefore(li, below);
    let marker = null;
    if (a.location) {
      const icon = L.divIcon({ className: `alert-marker kind-${a.kind} severity-${a.severity} state-${a.state}`, html: "<span></span>", iconSize: [14, 14], iconAnchor: [7, 7] });
      marker = L.marker(ll([a.location.lon, a.location.lat]), { icon, pane: "alertsPane", keyboard: false })
        .bindPopup(`<b>${esc(a.kind)}</b> ${a.state === "cleared" ? "已解除 cleared" : "告警 raised"}<br>${esc(a.plate ?? "—")} ${cityTime(a.at, true)}<br>${esc(a.message_zh)}<br><span class="muted">${esc(a.message_en)}</span>`)
        .addTo(layers.alerts);
      marker.getElement().dataset.alertId = a.alert_id;
      if (a.state === "cleared") {  // the condition it ends: shown as resolved
        for (const other of ops.alerts.values()) {
          const o = other.alert;
          if (o.plate === a.plate && o.kind === a.kind && o.zone_id === a.zone_id && o.state === "raised" && other.marker) other.marker.getElement().classList.add("resolved");
        }
      }
    }
    ops.alerts.set(a.alert_id, { alert: a, li, marker });
    if (ops.alerts.size > MAX_ALERTS_SHOWN) {
      const [oldest, entry] = ops.alerts.entries().next().value;
      entry.li.remove(); if (entry.marker) layers.alerts.removeLayer(entry.marker);
      ops.alerts.delete(oldest);
    }
  }
  ops.addAlert = addAlert;

  function focusAlert(id) {
    const entry = ops.alerts.get(id);
    if (!entry) return;
    for (const e of document.querySelectorAll(".alert-marker.focus")) e.classList.remove("focus");
    if (entry.marker) {
      map.flyTo(entry.marker.getLatLng(), Math.max(map.getZoom(), 16), { duration: 0.6 });
      entry.marker.getElement().classList.add("focus");
      map.once("moveend", () => entry.marker.openPopup());
    }
    if (entry.alert.plate && ops.vehicles.has(entry.alert.plate)) selectVehicle(entry.alert.plate);
  }
  ops.focusAlert = focusAlert;

  for (const kind of ALERT_KINDS) $("alert-filter").insertAdjacentHTML("beforeend", `<option value="${kind}">${kind}</option>`);
  $("alert-filter").onchange = () => {
    const kind = $("alert-filter").value;
    for (const { alert, li, marker } of ops.alerts.values()) {
      li.hidden = !!kind && alert.kind !== kind;
      if (marker) marker.getElement().style.display = li.hidden ? "none" : "";
    }
  };

  function stream(path, handlers, onOpen) {
    // onOpen runs on every (re)connection: the subscription exists by then, so what the page fetches
    // there and what the stream sends afterwards leave no gap, also after a dropped connection
    const source = new EventSource(`${path}?key=${encodeURIComponent(key())}`);
    ops.feeds.push(source);
    source.onopen = () => onOpen(source);
    for (const [name, handler] of Object.entries(handlers)) source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
    return source;
  }

  function startPolice() {
    ops.alertFeed = stream("/v1/alerts/stream", { alert: (a) => addAlert(a, true) }, async (source) => {
      $("feed-status").textContent = "已连接 connected";
      const alerts = await api("/v1/alerts?limit=200").catch((err) => { $("feed-status").textContent = err.message; return []; });
      if (ops.feeds.includes(source)) for (const a of alerts) addAlert(a, false);
    });
    ops.alertFeed.onerror = () => { $("feed-status").textContent = "连接中断，重试中 reconnecting"; };
    ops.positionFeed = stream("/v1/positions/stream", { positions: applyPositions }, async (source) => {
      const vehicles = await api("/v1/positions").catch(() => []);
      if (ops.feeds.includes(source)) applyPositions(vehicles);
    });
    loadFlows();
  }

  // ---- police: flows -------------------------------------------------------------------------------
  async function loadFlows() {
    const token = ++ops.flowsAsked;  // an older answer arriving late must not replace a newer one
    ops.flowsPending += 1;
    let flows;
    try { flows = await api("/v1/flows"); } catch (err) { flows = err; } finally { ops.flowsPending -= 1; }
    if (token !== ops.flowsAsked) return;
    if (flows instanceof Error) { $("flows").innerHTML = `<li class="error">${esc(flows.message)}</li>`; return; }
    $("flows").innerHTML = flows.length ? "" : '<li class="muted">无 none</li>';
    for (const f of flows) {
      const li = document.createElement("li");
      li.dataset.flow = f.flow_id; li.dataset.plate = f.plate;
      const seen = f.last_seen ? `最后位置 last seen ${cityTime(f.last_seen.at, true)}` : "未见 not seen yet";
      li.innerHTML = `${f.overdue ? '<span class="badge overdue">超时 overdue</span> ' : ""}<b>${esc(f.plate)}</b> ${esc(f.un_number)} ${esc(f.name)} ${Math.round(f.quantity_kg).toLocaleString()} kg → ${esc(f.consignee || f.destination || "—")}<br><span class="muted">装 loaded ${cityTime(f.opened_at, true)} · ${seen}</span>`;
      li.onclick = () => {
        const v = ops.vehicles.get(f.plate);
        const where = v ? [v.data.lat, v.data.lon] : (f.last_seen ? ll([f.last_seen.lon, f.last_seen.lat]) : null);
        if (where) map.flyTo(where, Math.max(map.getZoom(), 15), { duration: 0.6 });
        selectVehicle(f.plate);
      };
      $("flows").appendChild(li);
    }
  }
  $("flows-refresh").onclick = loadFlows;
  setInterval(() => { if (ops.role === "police") loadFlows(); }, 60_000);

  // ---- dispatcher ----------------------------------------------------------------------------------
  function cityOffset(date) {  // "+08:00": the city's UTC offset at that moment
    const part = new Intl.DateTimeFormat("en-US", { timeZone: ops.city?.timezone || "Asia/Shanghai", timeZoneName: "longOffset" }).formatToParts(date).find((p) => p.type === "timeZoneName");
    const offset = part ? part.value.replace("GMT", "") : "";
    return offset || "+00:00";
  }
  function cityLocalNow() {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: ops.city?.timezone || "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date()).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour === "24" ? "00" : parts.hour}:${parts.minute}`;
  }

  const parseLonLat = (text) => { const [lon, lat] = text.split(",").map(Number); return Number.isFinite(lon) && Number.isFinite(lat) ? [lon, lat] : null; };
  function placePick(which) {
    const at = parseLonLat($(which).value);
    if (ops.pick[which]) layers.picks.removeLayer(ops.pick[which]);
    ops.pick[which] = at ? L.marker(ll(at), { icon: L.divIcon({ className: `pick-marker ${which}`, html: which === "from" ? "起" : "终", iconSize: [20, 20] }), keyboard: false }).addTo(layers.picks) : null;
  }
  $("from").onchange = () => placePick("from");
  $("to").onchange = () => placePick("to");
  map.on("click", (e) => {
    if (ops.role !== "dispatcher") return;
    const which = ops.pick.next;
    $(which).value = `${e.latlng.lng.toFixed(5)},${e.latlng.lat.toFixed(5)}`;
    placePick(which);
    ops.pick.next = which === "from" ? "to" : "from";
    $("pick-hint").textContent = ops.pick.next === "from" ? "再次点击设置新起点 click again for a new origin" : "点击终点 now click the destination";
  });

  function markRouteZones() {
    const avoided = new Set((ops.routeZones?.avoided || []).map((a) => a.zone_id)), blocking = new Set((ops.routeZones?.blocked || []).map((a) => a.zone_id));
    for (const [id, layer] of ops.zoneLayers) {
      if (layer.feature.geometry.type.endsWith("LineString")) continue;
      const base = zoneStyle(layer.feature.properties);
      const hit = avoided.has(id) || blocking.has(id);
      layer.setStyle(hit ? { ...base, dashArray: "8 5", weight: 3, color: blocking.has(id) ? "#c00" : base.color } : base);
      layer.eachLayer((l) => { const el = l.getElement && l.getElement(); if (el) { el.classList.toggle("avoided", avoided.has(id)); el.classList.toggle("blocking", blocking.has(id)); } });
    }
  }

  function reasons(list) {
    return list.length ? `<ul class="findings">${list.map((a) => `<li>${esc(a.zone_id || a.kind)}: ${esc(a.reason_zh)}<br><span class="en">${esc(a.reason_en)}</span></li>`).join("")}</ul>` : "";
  }

  async function requestRoute(event) {
    event.preventDefault();
    const from = parseLonLat($("from").value), to = parseLonLat($("to").value);
    if (!from || !to) { $("route-result").innerHTML = '<span class="error">起终点格式 LON,LAT</span>'; return; }
    const depart = ($("depart").value || cityLocalNow()) + ":00" + cityOffset(new Date());
    const id = `web-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
    const body = { schema_version: 1, request_id: id, plate: $("plate").value.trim(), optimize: $("optimize").value,
      load: [{ un_number: $("un").value.trim(), hazard_class: $("cls").value.trim(), quantity_kg: Number($("qty").value) }],
      origin: { lon: from[0], lat: from[1] }, destination: { lon: to[0], lat: to[1] }, depart_at: depart };
    $("route-result").textContent = "规划中 planning…";
    try {
      await api("/v1/route-requests", { method: "POST", body: JSON.stringify(body) });
      showRoute(await routeAnswer(id));
    } catch (err) { $("route-result").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  }
  $("route-form").onsubmit = requestRoute;

  async function routeAnswer(id, tries = 4) {
    // the worker answers in well under a second once its graph is loaded; the first request after a
    // worker start may wait for that load: ask again (each ask waits up to 25 s) before giving up
    for (let n = 1; ; n++) {
      try { return await api(`/v1/routes/${id}?wait=25`); } catch (err) {
        if (n >= tries || !err.message.startsWith("404")) throw err;
        $("route-result").textContent = `规划中 still planning… (${n * 25} s)`;
      }
    }
  }

  function showRoute(r) {
    layers.route.clearLayers(); ops.routeLayer = null;
    ops.routeZones = { avoided: r.avoided || [], blocked: r.blocked_by || [] };
    markRouteZones();
    if (r.status === "ok" && r.geometry) {
      ops.routeLayer = L.polyline(r.geometry.coordinates.map(ll), { color: "#00a651", weight: 5, opacity: 0.9, className: "route-line" }).addTo(layers.route);
      map.fitBounds(ops.routeLayer.getBounds().pad(0.15));
      $("route-result").innerHTML = `<b>${(r.length_m / 1000).toFixed(1)} km</b>, ${(r.duration_s / 60).toFixed(0)} min · 到达 arrive ${cityTime(r.arrive_at, true)}` +
        (r.passes_used?.length ? `<br>通行证 passes: ${r.passes_used.map(esc).join(", ")}` : "") +
        (r.avoided.length ? `<br>避让 avoided (虚线 dashed on the map):${reasons(r.avoided)}` : "<br>无需避让 nothing to avoid");
    } else if (r.status === "no_permitted_route") {
      const earliest = r.earliest_departure_at;
      $("route-result").innerHTML = `<span class="error">无可行路线 no permitted route</span><br>${esc(r.reason_zh)}<br><span class="muted">${esc(r.reason_en)}</span>` +
        `<br>受阻于 blocked by:${reasons(r.blocked_by || [])}` +
        (earliest ? `最早出发 earliest departure: <b id="earliest">${cityTime(earliest, true)}</b> <button type="button" id="use-earliest">采用 use it</button>` : "无可出发时间 no departure time opens it");
      if (earliest) $("use-earliest").onclick = () => {
        const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: ops.city?.timezone || "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(earliest)).map((p) => [p.type, p.value]));
        $("depart").value = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
      };
    } else {
      $("route-result").innerHTML = `<span class="error">${esc(r.status)}</span> ${esc(r.reason_zh)}<br><span class="muted">${esc(r.reason_en)}</span>`;
    }
  }
  ops.showRoute = showRoute;

  // ---- loading site (and police): check-ins by plate -----------------------------------------------
  $("lookup-form").onsubmit = async (event) => {
    event.preventDefault();
    try {
      const rows = await api(`/v1/archive?plate=${encodeURIComponent($("lookup-plate").value.trim())}`);
      $("lookup-result").innerHTML = rows.length ? `<ul class="list">${rows.slice().reverse().map((r) => `<li>${cityTime(r.occurred_at, true)} ${esc(r.site_id)} <span class="badge ${esc(r.verdict.verdict)}">${esc(r.verdict.verdict)}</span>${findingsList(r.verdict.findings)}</li>`).join("")}</ul>` : "无记录 none";
    } catch (err) { $("lookup-result").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  };

  // ---- start -----------------------------------------------------------------------------------------
  $("key").value = localStorage.getItem("hazmat-key") || "";
  $("key").onchange = signIn;
  ops.signIn = signIn;
  ops.ready = loadBase().then(() => { $("depart").value = cityLocalNow(); return signIn(); });
})();
