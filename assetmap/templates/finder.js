(function () {
  "use strict";
  // Data comes only from the JSON block, and goes into the page only as textContent.
  var data = JSON.parse(document.getElementById("finder-data").textContent);
  var assets = data.assets, categories = data.categories;
  var SVG = "http://www.w3.org/2000/svg";
  var pattern = new RegExp(data.pattern);
  var form = document.getElementById("finder"), input = document.getElementById("postcode");
  var countSelect = document.getElementById("count");
  var status = document.getElementById("status"), suggest = document.getElementById("suggest");
  var list = document.getElementById("results"), svg = document.getElementById("map");
  var figure = document.getElementById("map-figure");
  var caption = document.getElementById("map-caption");
  var boxes = [], current = null;

  // Postcodes: inward codes joined per outward code; coordinates delta-encoded metres.
  var index = new Map(), pcX = [], pcY = [];
  (function () {
    var p = data.postcodes, x = 0, y = 0, k = 0;
    for (var g = 0; g < p.outward.length; g++) {
      for (var i = 0; i < p.inward[g].length; i += 3, k++) {
        x += p.easting[k];
        y += p.northing[k];
        index.set(p.outward[g] + " " + p.inward[g].substr(i, 3), k);
        pcX.push(x);
        pcY.push(y);
      }
    }
  })();

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function swatch(colour) {
    var node = el("span", undefined, "swatch");
    node.style.background = colour;
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  categories.forEach(function (category, i) {
    var label = el("label"), box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = String(i);
    box.addEventListener("change", render);
    boxes.push(box);
    label.append(box, swatch(category.colour), document.createTextNode(category.label));
    document.getElementById("categories").append(label);
  });

  function normalise(text) {
    var compact = text.toUpperCase().replace(/[^0-9A-Z]/g, "");
    return compact.length > 3 ? compact.slice(0, -3) + " " + compact.slice(-3) : compact;
  }

  // Keys next to each other on a keyboard (rows staggered as they are).
  var ROWS = ["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"], STAGGER = [0, 0.5, 0.75, 1.25];
  function keyAt(char) {
    for (var r = 0; r < ROWS.length; r++) {
      if (ROWS[r].indexOf(char) >= 0) return [r, ROWS[r].indexOf(char) + STAGGER[r]];
    }
  }
  function neighbours(a, b) {
    var p = keyAt(a), q = keyAt(b);
    return Math.abs(p[0] - q[0]) <= 1 && Math.abs(p[1] - q[1]) <= 1;
  }
  function lookalikes(a, b) {
    return data.lookalikes.some(function (pair) {
      return pair === a + b || pair === b + a;
    });
  }

  // Postcodes of the study area one character away: look-alikes (O/0, I/1, S/5, ...)
  // first, then keys next to the one typed, then any other; at most six.
  function nearMisses(code) {
    var found = [];
    for (var i = 0; i < code.length; i++) {
      if (code[i] === " ") continue;
      for (var c = 0; c < 36; c++) {
        var char = c.toString(36).toUpperCase();
        var candidate = code.slice(0, i) + char + code.slice(i + 1);
        if (char === code[i] || !index.has(candidate)) continue;
        found.push({code: candidate, rank: lookalikes(code[i], char) ? 0
                    : neighbours(code[i], char) ? 1 : 2});
      }
    }
    found.sort(function (a, b) { return a.rank - b.rank || (a.code < b.code ? -1 : 1); });
    return found.slice(0, 6).map(function (miss) { return miss.code; });
  }

  function distanceText(metres) {
    return metres < 5 ? "at this postcode" : metres < 1000 ? Math.round(metres / 10) * 10 + " m"
      : (metres / 1000).toFixed(1) + " km";
  }

  function walkText(metres) {
    var minutes = Math.max(1, Math.round(metres / data.metres_per_minute));
    return "about " + minutes + (minutes === 1 ? " minute" : " minutes") + " walk";
  }

  function clear() {
    list.replaceChildren();
    svg.replaceChildren();
    figure.hidden = true;
    suggest.hidden = true;
    suggest.replaceChildren();
  }

  function search() {
    var code = normalise(input.value);
    clear();
    current = null;
    if (!code) {
      status.textContent = "Type a postcode, for example " + data.example + ".";
      return;
    }
    if (index.has(code)) {
      current = code;
      input.value = code;
      render();
      return;
    }
    status.textContent = code + (pattern.test(code)
      ? " is not one of the study area's postcodes."
      : " does not look like a postcode (for example " + data.example + ").");
    var misses = nearMisses(code);
    if (!misses.length) return;
    suggest.append(el("span", "Did you mean: "));
    misses.forEach(function (miss) {
      var button = el("button", miss, "link");
      button.type = "button";
      button.addEventListener("click", function () {
        input.value = miss;
        search();
        input.focus();
      });
      suggest.append(button);
    });
    suggest.hidden = false;
  }

  function nearest(x, y) {
    var chosen = boxes.map(function (box) { return box.checked; });
    var found = [];
    for (var i = 0; i < assets.x.length; i++) {
      if (chosen[assets.category[i]]) {
        found.push({i: i, d: Math.hypot(assets.x[i] - x, assets.y[i] - y)});
      }
    }
    found.sort(function (a, b) { return a.d - b.d || a.i - b.i; });
    return found;
  }

  function render() {
    if (current === null) return;
    clear();
    var k = index.get(current), x = pcX[k], y = pcY[k];
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    if (!chosen) {
      status.textContent = "Choose at least one category.";
      return;
    }
    var all = nearest(x, y), shown = all.slice(0, Number(countSelect.value));
    status.textContent = shown.length + " nearest to " + current + " (of " +
      all.length.toLocaleString("en-GB") +
      " in " + chosen + (chosen === 1 ? " category" : " categories") + ")";
    shown.forEach(function (hit) {
      var i = hit.i, category = categories[assets.category[i]];
      var item = el("li"), meta = el("p", undefined, "meta"), details = el("dl");
      meta.append(swatch(category.colour), el("span", category.label),
                  el("span", hit.d < 5 ? distanceText(hit.d)
                          : distanceText(hit.d) + ", " + walkText(hit.d)));
      if (assets.type[i] && assets.type[i] !== category.label) {
        details.append(el("dt", "Type"), el("dd", assets.type[i]));
      }
      assets.details.forEach(function (detail) {
        if (detail.values[i]) details.append(el("dt", detail.label), el("dd", detail.values[i]));
      });
      item.append(el("h3", assets.name[i]), meta);
      if (details.childElementCount) item.append(details);
      list.append(item);
    });
    if (shown.length) drawMap(x, y, shown, all);
  }

  function svgEl(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceLength(metres) {
    var power = Math.pow(10, Math.floor(Math.log10(metres)));
    return [5, 2, 1].map(function (m) { return m * power; })
      .find(function (length) { return length <= metres; });
  }

  // A north-up square around the postcode holding every result, in metres (y flipped).
  function drawMap(x, y, shown, all) {
    var r = Math.max(300, shown[shown.length - 1].d * 1.15), size = 2 * r, dot = r / 20;
    svg.setAttribute("viewBox", [x - r, -y - r, size, size].join(" "));
    svg.append(svgEl("rect", {x: x - r, y: -y - r, width: size, height: size, fill: "#f7f7f4"}));
    all.slice(shown.length).forEach(function (hit) {
      if (hit.d > r * 1.5) return;
      svg.append(svgEl("circle", {cx: assets.x[hit.i], cy: -assets.y[hit.i], r: dot * 0.45,
                                  fill: "#9a9a9a"}));
    });
    svg.append(svgEl("circle", {cx: x, cy: -y, r: dot * 1.2, fill: "none", stroke: "#000",
                                "stroke-width": dot / 3}));
    svg.append(svgEl("circle", {cx: x, cy: -y, r: dot / 3, fill: "#000"}));
    shown.slice().reverse().forEach(function (hit) {
      var i = hit.i, n = shown.indexOf(hit) + 1;
      var group = svgEl("g", {});
      group.append(svgEl("title", {}, n + ". " + assets.name[i]));
      group.append(svgEl("circle", {cx: assets.x[i], cy: -assets.y[i], r: dot,
                                    fill: categories[assets.category[i]].colour,
                                    stroke: "#000", "stroke-width": dot / 6}));
      group.append(svgEl("text", {x: assets.x[i], y: -assets.y[i] + dot * 0.4,
                                  "font-size": dot * 1.15, "text-anchor": "middle",
                                  fill: "#fff", stroke: "#000", "stroke-width": dot / 8,
                                  "paint-order": "stroke", "font-family": "sans-serif",
                                  "font-weight": "bold"}, String(n)));
      svg.append(group);
    });
    var bar = niceLength(r * 0.6), left = x - r + dot * 2, base = -y + r - dot * 2;
    svg.append(svgEl("path", {d: "M" + left + " " + (base - dot) + "v" + dot + "h" + bar +
                                 "v" + (-dot), fill: "none", stroke: "#000",
                              "stroke-width": dot / 4}));
    svg.append(svgEl("text", {x: left, y: base - dot * 1.4, "font-size": dot * 1.3,
                              "font-family": "sans-serif"}, distanceText(bar)));
    svg.append(svgEl("text", {x: x + r - dot * 2, y: -y - r + dot * 3, "font-size": dot * 1.6,
                              "text-anchor": "middle", "font-family": "sans-serif",
                              "font-weight": "bold"}, "N\u2191"));
    caption.textContent = "Map of the " + shown.length + " nearest, numbered as in the list, " +
      "around " + current + " (black ring); other places of the chosen categories in grey.";
    figure.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });
  countSelect.addEventListener("change", render);
})();
