// The web chat page: posts the citizen's messages, photos and location to our own routes and
// polls for the replies with a cursor (the id of the last reply shown). No external code.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("config").textContent);
  var t = config.texts;
  var log = document.getElementById("log");
  var problem = document.getElementById("problem");
  var form = document.getElementById("compose");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var photo = document.getElementById("photo");
  var cursor = 0;
  var ended = false;
  var polling = false;
  var again = false;
  var fastUntil = 0;
  var timer = null;

  function newId() {
    var raw = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2);
    return raw.replace(/[^A-Za-z0-9_-]/g, "");
  }

  function bubble(who, text) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    div.scrollIntoView({ block: "end" });
    return div;
  }

  function say(text) {
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  function explain(status, data) {
    var key = (data && data.error) || "";
    if (status === 401) {
      ended = true;
      return t.web_session_ended;
    }
    if (status === 413 || key === "photo_too_large") return t.web_photo_too_large;
    if (status === 415 || key === "photo_type") return t.web_photo_type;
    if (key === "photo_unreadable") return t.web_photo_unreadable;
    if (status === 429) return t.web_too_many;
    return t.web_send_failed;
  }

  function showReply(m) {
    var div = bubble("bot", m.text);
    if (m.ticket) div.setAttribute("data-ticket", m.ticket);
    if (m.choices && m.choices.length) {
      var box = document.createElement("div");
      box.className = "choices";
      m.choices.forEach(function (c) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = c.label;
        if (c.description) b.title = c.description;
        b.setAttribute("data-value", c.value);
        b.addEventListener("click", function () { send({ choice: c.value }, c.label); });
        box.appendChild(b);
      });
      div.appendChild(box);
    }
    if (m.request_location) {
      var loc = document.createElement("button");
      loc.type = "button";
      loc.className = "location";
      loc.textContent = t.web_share_location;
      loc.addEventListener("click", shareLocation);
      div.appendChild(loc);
    }
  }

  function answered(response) {
    if (response.ok) {
      say("");
      return Promise.resolve(true);
    }
    return response.json().catch(function () { return null; }).then(function (data) {
      say(explain(response.status, data));
      return false;
    });
  }

  function send(fields, shown) {
    if (ended) return Promise.resolve(false);
    var body = { id: newId(), lang: config.lang };
    if (config.campaign) body.campaign = config.campaign;
    Object.keys(fields).forEach(function (k) { body[k] = fields[k]; });
    bubble("me", shown);
    return fetch(config.base + "/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(answered, function () { say(t.web_send_failed); return false; })
      .then(function (ok) { pollSoon(); return ok; });
  }

  function shareLocation() {
    if (!navigator.geolocation) {
      say(t.web_location_failed);
      return;
    }
    navigator.geolocation.getCurrentPosition(function (p) {
      var lat = p.coords.latitude, lon = p.coords.longitude;
      send({ location: { lat: lat, lon: lon } },
        t.web_my_location + ": " + lat.toFixed(5) + ", " + lon.toFixed(5));
    }, function () { say(t.web_location_failed); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function sendPhoto(file) {
    if (ended) return;
    if (file.size > config.maxPhotoBytes) {
      say(t.web_photo_too_large);
      return;
    }
    var data = new FormData();
    data.append("id", newId());
    data.append("lang", config.lang);
    data.append("photo", file);
    var div = bubble("me", t.web_my_photo);
    var img = document.createElement("img");
    img.alt = t.web_my_photo;
    img.src = URL.createObjectURL(file);
    div.appendChild(img);
    fetch(config.base + "/photos", { method: "POST", body: data, credentials: "same-origin" })
      .then(answered, function () { say(t.web_send_failed); return false; })
      .then(function () { pollSoon(); });
  }

  function poll() {
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    clearTimeout(timer);
    fetch(config.base + "/messages?after=" + cursor, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) {
          ended = true;
          say(t.web_session_ended);
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          data.messages.forEach(showReply);
          cursor = data.cursor;
        }
      }, function () { /* offline for a moment: the next poll catches up */ })
      .then(function () {
        polling = false;
        if (ended) return;
        if (again) {
          again = false;
          poll();
          return;
        }
        var wait = Date.now() < fastUntil ? 400 : (document.hidden ? 10000 : 2500);
        timer = setTimeout(poll, wait);
      });
  }

  function pollSoon() {
    fastUntil = Date.now() + 6000;
    poll();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || ended) return;
    sendButton.disabled = true;
    send({ text: text }, text).then(function (ok) {
      if (ok) input.value = "";
      sendButton.disabled = false;
      input.focus();
    });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("share-location").addEventListener("click", shareLocation);
  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (file) sendPhoto(file);
    photo.value = "";
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  poll();
})();
