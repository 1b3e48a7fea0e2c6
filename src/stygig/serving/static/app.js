/* StyGig's web page: one garment in (photo, description or catalog piece), an outfit out.
 *
 * Talks only to the server's own API: GET /model, GET /items, GET /items/{id}/thumbnail and
 * POST /invocations. Server data is put on the page with textContent / DOM properties only.
 */
(function () {
  "use strict";

  var IMAGE_TYPES = ["image/jpeg", "image/png", "image/apng", "image/webp", "image/gif", "image/bmp", "image/x-ms-bmp", "image/tiff", "image/avif"];
  var CATALOG_PAGE = 24;
  var SEARCH_PAUSE_MS = 250; // the catalog searches once typing pauses this long
  var SOURCE_TEXT = {
    item: "A piece from the catalog",
    hint: "Category as you chose it",
    vote: "Detected from the most similar catalog pieces",
    "zero-shot+vote": "Detected from your words and the most similar catalog pieces",
  };
  var GENDER_TEXT = { female: "women", male: "men", unisex: "anyone" };
  var SCORE_PARTS = [
    ["similarity_score", "Style"],
    ["color_score", "Colour"],
    ["category_score", "Category"],
    ["gender_score", "Fit for wearer"],
  ];

  var state = {
    model: null,
    query: null, // {kind: "image"|"text"|"item", file?, text?, itemId?, label?, thumb?, category? (the hint)}
    hintPending: false, // "The piece is" chosen before the first piece: it applies to that piece
    controller: null,
    seq: 0,
    previewUrl: null,
    catalog: { category: "", q: "", gender: "", page: 0, total: 0, loaded: false, controller: null },
  };

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---- formatting --------------------------------------------------------------------------
  function maxBytes() {
    var meta = document.querySelector('meta[name="stygig-max-request-bytes"]');
    var n = meta ? parseInt(meta.getAttribute("content"), 10) : NaN;
    return Number.isFinite(n) && n > 0 ? n : 6 * 1024 * 1024;
  }

  function formatBytes(n) {
    if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  /* "1 piece", "2 pieces": the page's copy of stygig.wording.plural. */
  function plural(n, noun, nouns) {
    return n + " " + (n === 1 ? noun : nouns || noun + "s");
  }

  function capitalise(s) {
    s = String(s || "");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function display(category) {
    var names = state.model && state.model.category_display;
    if (names && names[category]) return names[category];
    return String(category || "").replace(/[_-]+/g, " ");
  }

  function percent(x) {
    return Math.round(Math.max(0, Math.min(1, Number(x) || 0)) * 100);
  }

  function safeHex(hex) {
    return /^#[0-9a-fA-F]{6}$/.test(String(hex)) ? hex : null;
  }

  // ---- API ---------------------------------------------------------------------------------
  function ApiError(status, code, message) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function api(path, init) {
    return fetch(path, init).then(
      function (resp) {
        var isJson = (resp.headers.get("content-type") || "").indexOf("application/json") === 0;
        var body = isJson ? resp.json().catch(function () { return null; }) : Promise.resolve(null);
        return body.then(function (data) {
          if (resp.ok && data) return data;
          var err = data && data.error;
          if (err && err.message) throw new ApiError(resp.status, err.code || "error", err.message);
          throw new ApiError(resp.status, "http_" + resp.status, ("The server answered " + resp.status + " " + resp.statusText).trim());
        });
      },
      function (e) {
        if (e && e.name === "AbortError") throw e;
        throw new ApiError(0, "network", "The server could not be reached. Is stygig serve still running?");
      }
    );
  }

  // ---- status and errors -------------------------------------------------------------------
  function setStatus(text) {
    $("status").textContent = text || "";
  }

  function explain(err, query) {
    var m = err.message;
    var file = query && query.kind === "image" ? "“" + query.label + "”" : "That file";
    if (err.code === "invalid_image") return file + " is not a picture StyGig can read: " + m;
    if (err.status === 413) return file + " is too large for the server: " + m;
    if (err.status === 415) return file + " cannot be sent: " + m;
    if (err.code === "unsupported_query") return "Text search is not available here: " + m;
    if (err.status === 503) return "The model is still loading; try again in a moment. (" + m + ")";
    if (err.status === 0) return m;
    if (err.status >= 500) return "Something went wrong on the server (" + err.status + "): " + m;
    return m;
  }

  function showError(message) {
    var box = $("error");
    box.textContent = "";
    box.appendChild(el("strong", "error-title", "Could not style that piece"));
    box.appendChild(el("span", "error-message", message));
    box.hidden = false;
    $("result").hidden = true;
    $("empty").hidden = true;
    reveal($("outfit"));
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // ---- the model ---------------------------------------------------------------------------
  function loadModel(attempt) {
    api("/model").then(
      function (info) {
        state.model = info;
        onModel(info);
      },
      function (err) {
        var wait = Math.min(5000, 500 * Math.pow(2, Math.min(attempt, 4)));
        $("model-info").textContent =
          err.status === 503 ? "Loading the model…" : "Waiting for the server: " + err.message;
        window.setTimeout(function () { loadModel(attempt + 1); }, wait);
      }
    );
  }

  function onModel(info) {
    var enc = info.encoder || {};
    var parts = [plural(info.total_items, "piece"), (enc.kind || "unknown") + " encoder", "model " + String(info.model_version || "").slice(0, 8)];
    $("model-info").textContent = parts.join(" · ");

    var cats = Object.keys(info.categories || {});
    var browse = $("catalog-category");
    var hint = $("category-hint");
    cats.forEach(function (c) {
      var n = info.categories[c];
      var o = new Option(capitalise(display(c)) + " (" + n + ")", c);
      o.disabled = !n;
      browse.add(o);
      hint.add(new Option(capitalise(display(c)), c));
    });

    if (!$("panel-catalog").hidden && !state.catalog.loaded) loadCatalog(0);

    var textOk = !!enc.supports_text;
    $("text-input").disabled = !textOk;
    $("text-submit").disabled = !textOk;
    var note = $("text-note");
    if (textOk) {
      note.textContent = "Press Enter to see the outfit.";
      note.classList.remove("hint-warning");
    } else {
      note.textContent =
        "Text search needs an artifact built with a CLIP encoder (stygig build --encoder DIR); this one uses the " +
        (enc.kind || "lite") + " encoder. Try a photo or a catalog piece.";
      note.classList.add("hint-warning");
    }
  }

  // ---- tabs --------------------------------------------------------------------------------
  function tabs() {
    return Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  }

  function selectTab(tab, focus) {
    tabs().forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
  }

  function initTabs() {
    var list = document.querySelector('[role="tablist"]');
    tabs().forEach(function (t) {
      t.addEventListener("click", function () { selectTab(t, false); });
    });
    list.addEventListener("keydown", function (e) {
      var all = tabs();
      var i = all.indexOf(document.activeElement);
      if (i < 0) return;
      var next = null;
      if (e.key === "ArrowRight") next = all[(i + 1) % all.length];
      else if (e.key === "ArrowLeft") next = all[(i - 1 + all.length) % all.length];
      else if (e.key === "Home") next = all[0];
      else if (e.key === "End") next = all[all.length - 1];
      if (next) {
        e.preventDefault();
        selectTab(next, true);
      }
    });
  }

  // ---- inputs ------------------------------------------------------------------------------
  function handleFile(file) {
    if (!file) return;
    var limit = maxBytes();
    if (file.size > limit) {
      abortRun();
      setStatus("");
      var size = formatBytes(file.size);
      showError(
        "“" + file.name + "” is " + (size === formatBytes(limit) ? "just over " + size : size) +
        "; the server accepts pictures up to " + formatBytes(limit) + ". Please choose a smaller picture."
      );
      return;
    }
    ask({ kind: "image", file: file, label: file.name });
  }

  function initPhoto() {
    var input = $("photo-input");
    var zone = $("dropzone");
    $("max-size").textContent = formatBytes(maxBytes());
    $("pick-photo").addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      handleFile(file);
      input.value = "";
    });
    var depth = 0;
    zone.addEventListener("dragenter", function (e) {
      e.preventDefault();
      depth += 1;
      zone.classList.add("is-dragging");
    });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("is-dragging");
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("is-dragging");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) handleFile(files[0]);
    });
    // a picture dropped beside the zone must not replace the page
    ["dragover", "drop"].forEach(function (type) {
      window.addEventListener(type, function (e) {
        if (!zone.contains(e.target)) e.preventDefault();
      });
    });
    // a picture pasted from the clipboard
    document.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.files) || [];
      if (items.length && /^image\//.test(items[0].type)) {
        selectTab($("tab-photo"), false);
        handleFile(items[0]);
      }
    });
  }

  function initText() {
    $("text-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = $("text-input").value.trim();
      if (!text) {
        setStatus("Type a description first.");
        $("text-input").focus();
        return;
      }
      ask({ kind: "text", text: text, label: text });
    });
  }

  function wearer() {
    var checked = document.querySelector('input[name="gender"]:checked');
    return checked && checked.value ? checked.value : "";
  }

  function options(query) {
    var opts = { top_k: parseInt($("top-k").value, 10) || 6 };
    if (wearer()) opts.gender = wearer();
    if (query.category) opts.category = query.category;
    return opts;
  }

  /* A new piece to style. "The piece is" belongs to one query: chosen while a piece is on show it
     re-styles that piece; chosen before the first piece it applies to that piece; a new piece starts
     from "Detected automatically". A catalog piece's category is known: a hint chosen before it is
     not applied to it. */
  function ask(query) {
    var hint = $("category-hint");
    if (state.hintPending && hint.value && query.kind !== "item") query.category = hint.value;
    state.hintPending = false;
    hint.value = query.category || "";
    run(query);
  }

  function initOptions() {
    $("options").addEventListener("submit", function (e) { e.preventDefault(); });
    $("options").addEventListener("change", function (e) {
      if (e.target.id === "category-hint") {
        if (!state.query) {
          state.hintPending = !!e.target.value;
          return;
        }
        state.query.category = e.target.value || undefined;
      }
      if (e.target.name === "gender" && state.catalog.loaded) loadCatalog(0);
      if (state.query) run(state.query);
    });
  }

  // ---- catalog browser ---------------------------------------------------------------------
  /* One page of GET /items at a time (no scroll box inside it): of the chosen category, for the
     wearer "Dress for" names, matching the search by name or id. */
  function loadCatalog(page) {
    var cat = state.catalog;
    var grid = $("catalog-grid");
    if (cat.controller) cat.controller.abort();
    cat.category = $("catalog-category").value;
    cat.q = $("catalog-search").value.trim();
    cat.gender = wearer();
    cat.page = page;
    cat.loaded = true;
    cat.controller = new AbortController();
    var params = new URLSearchParams();
    if (cat.category) params.set("category", cat.category);
    if (cat.gender) params.set("gender", cat.gender);
    if (cat.q) params.set("q", cat.q);
    params.set("offset", String(page * CATALOG_PAGE));
    params.set("limit", String(CATALOG_PAGE));
    grid.setAttribute("aria-busy", "true");
    api("/items?" + params.toString(), { signal: cat.controller.signal }).then(
      function (result) {
        cat.controller = null;
        cat.total = result.total;
        grid.textContent = "";
        result.items.forEach(function (item) { grid.appendChild(catalogItem(item)); });
        grid.removeAttribute("aria-busy");
        markCatalogSelection();
        var pages = Math.max(1, Math.ceil(cat.total / CATALOG_PAGE));
        $("catalog-pager").hidden = pages <= 1;
        $("catalog-page").textContent = "Page " + (page + 1) + " of " + pages;
        $("catalog-prev").disabled = page <= 0;
        $("catalog-next").disabled = page + 1 >= pages;
        $("catalog-hint").textContent = catalogSummary(cat);
      },
      function (err) {
        if (err && err.name === "AbortError") return;
        cat.controller = null;
        grid.removeAttribute("aria-busy");
        $("catalog-hint").textContent = "Could not load the catalog: " + err.message;
      }
    );
  }

  /* "Trousers: 6 pieces for women matching “navy”. Pick one to see what goes with it." */
  function catalogSummary(cat) {
    var text = cat.category ? capitalise(display(cat.category)) + ": " : "";
    text += cat.total ? plural(cat.total, "piece") : cat.category ? "no pieces" : "No pieces";
    if (cat.gender && GENDER_TEXT[cat.gender]) text += " for " + GENDER_TEXT[cat.gender];
    if (cat.q) text += " matching “" + cat.q + "”";
    return text + (cat.total ? ". Pick one to see what goes with it." : ".");
  }

  function catalogItem(item) {
    var li = el("li");
    var btn = el("button", "catalog-item");
    btn.type = "button";
    btn.dataset.itemId = item.item_id;
    btn.dataset.gender = item.gender || "";
    btn.dataset.category = item.category || "";
    btn.setAttribute("aria-pressed", "false");
    var thumb = el("span", "catalog-thumb");
    frame(thumb, item.thumbnail_url, "");
    btn.appendChild(thumb);
    btn.appendChild(el("span", "catalog-name", capitalise(item.name || item.item_id)));
    btn.addEventListener("click", function () {
      ask({ kind: "item", itemId: item.item_id, label: item.name || item.item_id, thumb: item.thumbnail_url });
    });
    li.appendChild(btn);
    return li;
  }

  function markCatalogSelection() {
    var id = state.query && state.query.kind === "item" ? state.query.itemId : null;
    Array.prototype.forEach.call(document.querySelectorAll(".catalog-item"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.itemId === id ? "true" : "false");
    });
  }

  function initCatalog() {
    var typing = null;
    $("catalog-form").addEventListener("submit", function (e) {
      e.preventDefault();
      window.clearTimeout(typing);
      loadCatalog(0);
    });
    $("catalog-category").addEventListener("change", function () { loadCatalog(0); });
    $("catalog-search").addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(function () { loadCatalog(0); }, SEARCH_PAUSE_MS);
    });
    $("catalog-prev").addEventListener("click", function () { turnCatalogPage(-1); });
    $("catalog-next").addEventListener("click", function () { turnCatalogPage(1); });
    $("tab-catalog").addEventListener("click", function () {
      if (!state.catalog.loaded && state.model) loadCatalog(0);
    });
  }

  function turnCatalogPage(step) {
    loadCatalog(Math.max(0, state.catalog.page + step));
  }

  // ---- asking for an outfit ----------------------------------------------------------------
  function abortRun() {
    if (state.controller) state.controller.abort();
    state.controller = null;
    $("outfit").removeAttribute("aria-busy");
  }

  function request(query, opts) {
    if (query.kind === "image") {
      var params = new URLSearchParams();
      Object.keys(opts).forEach(function (k) { params.set(k, String(opts[k])); });
      var type = IMAGE_TYPES.indexOf(query.file.type) >= 0 ? query.file.type : "application/x-image";
      return { url: "/invocations?" + params.toString(), body: query.file, type: type };
    }
    var payload = query.kind === "text" ? { text: query.text } : { item_id: query.itemId };
    Object.keys(opts).forEach(function (k) { payload[k] = opts[k]; });
    return { url: "/invocations", body: JSON.stringify(payload), type: "application/json" };
  }

  function run(query) {
    abortRun();
    state.query = query;
    markCatalogSelection();
    var seq = ++state.seq;
    var controller = new AbortController();
    state.controller = controller;
    var req = request(query, options(query));
    clearError();
    $("outfit").setAttribute("aria-busy", "true");
    $("result").classList.add("is-loading");
    setStatus("Styling " + (query.kind === "text" ? "“" + query.label + "”" : query.label) + "…");
    api(req.url, {
      method: "POST",
      headers: { "Content-Type": req.type, Accept: "application/json" },
      body: req.body,
      signal: controller.signal,
    }).then(
      function (outfit) {
        if (seq !== state.seq) return;
        state.controller = null;
        $("outfit").removeAttribute("aria-busy");
        $("result").classList.remove("is-loading");
        render(query, outfit);
      },
      function (err) {
        if (seq !== state.seq || (err && err.name === "AbortError")) return;
        state.controller = null;
        $("outfit").removeAttribute("aria-busy");
        $("result").classList.remove("is-loading");
        setStatus("");
        showError(explain(err, query));
      }
    );
  }

  // ---- rendering ---------------------------------------------------------------------------
  /* One chip per colour name (two dominant greys are one "grey"), the heavier one's colour:
     the same rule as stygig.report.colour_chips for the CLI and outfit.png. */
  function colourChips(colours, max) {
    var seen = {};
    return (colours || []).filter(function (c) {
      var key = c.name || c.hex;
      if (seen[key]) return false;
      seen[key] = true;
      return true;
    }).slice(0, max);
  }

  function swatches(list, colours, max) {
    list.textContent = "";
    colourChips(colours, max).forEach(function (c) {
      var li = el("li", "swatch");
      var dot = el("span", "swatch-dot");
      var hex = safeHex(c.hex);
      if (hex) dot.style.backgroundColor = hex;
      dot.setAttribute("aria-hidden", "true");
      li.appendChild(dot);
      li.appendChild(el("span", "swatch-name", c.name || c.hex));
      li.title = (c.name ? c.name + " " : "") + (c.hex || "");
      list.appendChild(li);
    });
    list.hidden = !list.children.length;
  }

  /* The average colour along the sides of a picture that a square frame leaves bare (top and
   * bottom rows of a wide picture, left and right columns of a tall one), or null. */
  function edgeColour(img) {
    try {
      var n = 32;
      var wide = img.naturalWidth >= img.naturalHeight;
      var canvas = document.createElement("canvas");
      canvas.width = canvas.height = n;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0, n, n);
      var d = ctx.getImageData(0, 0, n, n).data;
      var sum = [0, 0, 0];
      var count = 0;
      for (var k = 0; k < n; k++) {
        [0, n - 1].forEach(function (edge) {
          var x = wide ? k : edge;
          var y = wide ? edge : k;
          var i = (y * n + x) * 4;
          sum[0] += d[i];
          sum[1] += d[i + 1];
          sum[2] += d[i + 2];
          count += 1;
        });
      }
      return "rgb(" + sum.map(function (v) { return Math.round(v / count); }).join(", ") + ")";
    } catch (e) {
      return null;
    }
  }

  /* A picture in a square frame: the photo whole (contain) on its own backdrop colour, so
   * pictures of any shape look intended. */
  function frame(box, src, alt) {
    var img = el("img", "photo");
    img.alt = alt;
    img.decoding = "async";
    img.addEventListener("load", function () {
      var colour = edgeColour(img);
      if (colour) box.style.backgroundColor = colour;
    });
    img.addEventListener("error", function () { box.classList.add("is-missing"); });
    img.src = src;
    box.appendChild(img);
  }

  function renderQuery(query, item) {
    var media = $("query-media");
    media.textContent = "";
    media.style.backgroundColor = "";
    media.classList.remove("is-missing", "is-text");
    if (state.previewUrl) {
      URL.revokeObjectURL(state.previewUrl);
      state.previewUrl = null;
    }
    var cat = capitalise(display(item.category));
    if (query.kind === "image") {
      state.previewUrl = URL.createObjectURL(query.file);
      frame(media, state.previewUrl, "Your photo: " + query.label);
    } else if (query.kind === "item") {
      frame(media, query.thumb || "/items/" + encodeURIComponent(query.itemId) + "/thumbnail", capitalise(query.label));
    } else {
      media.classList.add("is-text");
      media.appendChild(el("blockquote", "query-quote", "“" + query.text + "”"));
    }
    $("query-title").textContent = query.kind === "item" ? capitalise(query.label) : cat;
    var how = SOURCE_TEXT[item.category_source] || "Detected";
    if (item.category_source === "vote" || item.category_source === "zero-shot+vote") {
      how += " · " + percent(item.category_confidence) + "% confidence";
    }
    if (item.gender && GENDER_TEXT[item.gender]) how += " · for " + GENDER_TEXT[item.gender];
    var src = $("query-source");
    src.textContent = "";
    var pill = el("span", "query-category", cat);
    pill.hidden = query.kind !== "item";
    src.appendChild(pill);
    src.appendChild(el("span", "query-how", how));
    var card = $("query-card");
    card.dataset.category = item.category || "";
    card.dataset.source = item.category_source || "";
    swatches($("query-colours"), item.colors, 5);
  }

  function card(rec) {
    var li = el("li", "card");
    li.dataset.itemId = rec.item_id;
    li.dataset.category = rec.category || "";
    li.dataset.gender = rec.gender || "";
    var fig = el("figure", "card-media");
    var name = rec.name || display(rec.category);
    frame(fig, rec.thumbnail_url || "/items/" + encodeURIComponent(rec.item_id) + "/thumbnail", capitalise(name));
    var rank = el("span", "card-rank", rec.rank);
    rank.setAttribute("aria-hidden", "true");
    fig.appendChild(rank);
    li.appendChild(fig);

    var body = el("div", "card-body");
    body.appendChild(el("p", "card-category", capitalise(display(rec.category))));
    body.appendChild(el("h4", "card-name", capitalise(name)));

    var score = el("div", "card-score");
    var pct = percent(rec.score);
    score.appendChild(el("span", "card-score-value", pct + "%"));
    score.appendChild(el("span", "card-score-label", "match"));
    var bar = el("span", "score-bar");
    bar.setAttribute("aria-hidden", "true");
    var fill = el("span", "score-fill");
    fill.style.width = pct + "%";
    bar.appendChild(fill);
    score.appendChild(bar);
    body.appendChild(score);

    var sw = el("ul", "swatches");
    sw.setAttribute("aria-label", "Colours");
    swatches(sw, rec.colors, 3);
    body.appendChild(sw);

    if (rec.reason) body.appendChild(el("p", "card-reason", rec.reason));

    var details = el("details", "card-details");
    details.appendChild(el("summary", null, "Score breakdown"));
    var dl = el("dl", "breakdown");
    SCORE_PARTS.forEach(function (p) {
      if (rec[p[0]] === undefined) return;
      dl.appendChild(el("dt", null, p[1]));
      dl.appendChild(el("dd", null, percent(rec[p[0]]) + "%"));
    });
    details.appendChild(dl);
    body.appendChild(details);

    /* the accessible name begins with the words on the button ("Style this piece, navy nylon
       jacket"), so speech users can say what they see (WCAG 2.5.3) */
    var again = el("button", "button button-quiet card-action", "Style this piece");
    again.type = "button";
    again.setAttribute("aria-label", "Style this piece, " + name);
    again.addEventListener("click", function () {
      ask({ kind: "item", itemId: rec.item_id, label: name, thumb: rec.thumbnail_url });
    });
    body.appendChild(again);
    li.appendChild(body);
    return li;
  }

  function render(query, outfit) {
    var outfitBox = $("outfit");
    // a keyboard user who asked from inside the outfit ("Style this piece") keeps their place
    var focusWasInside = outfitBox.contains(document.activeElement) && document.activeElement !== outfitBox;
    var item = outfit.query_item || {};
    var recs = outfit.recommendations || [];
    renderQuery(query, item);
    var list = $("recs");
    list.textContent = "";
    recs.forEach(function (rec) { list.appendChild(card(rec)); });
    $("no-recs").hidden = recs.length > 0;
    var meta = outfit.metadata || {};
    $("result-meta").textContent =
      plural(recs.length, "piece") +
      (meta.processing_time_ms !== undefined ? " · " + Math.round(meta.processing_time_ms) + " ms" : "");
    $("empty").hidden = true;
    $("result").hidden = false;
    var what = capitalise(display(item.category));
    setStatus(
      recs.length
        ? "Outfit ready: " + plural(recs.length, "piece") + " to go with your " + display(item.category) + "."
        : "No pieces match these filters for your " + what + "."
    );
    if (focusWasInside) $("query-card").focus();
    reveal(outfitBox);
  }

  /* On one-column screens the outfit (or the error) is below the inputs: bring it into view. */
  function reveal(box) {
    if (window.matchMedia("(max-width: 880px)").matches && box.getBoundingClientRect().top > window.innerHeight * 0.6) {
      var smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      box.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
  }

  // ---- start -------------------------------------------------------------------------------
  function init() {
    initTabs();
    initPhoto();
    initText();
    initOptions();
    initCatalog();
    loadModel(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
