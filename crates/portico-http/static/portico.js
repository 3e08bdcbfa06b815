// Portico console enhancements. The pages work without this script; it only makes them nicer.
(function () {
  "use strict";

  // APIs Used: a sensitive data group can be chosen only while its API is checked.
  function syncGroups(apiBox) {
    var scope = apiBox.value;
    var boxes = document.querySelectorAll('input[data-group-of="' + scope + '"]');
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].disabled = !apiBox.checked;
    }
    var set = document.querySelector('fieldset[data-groups-of="' + scope + '"]');
    if (set) {
      set.classList.toggle("is-disabled", !apiBox.checked);
    }
  }

  function setUpGroups() {
    var apis = document.querySelectorAll('input[type="checkbox"][name="api"]');
    for (var i = 0; i < apis.length; i++) {
      syncGroups(apis[i]);
      apis[i].addEventListener("change", function (e) {
        syncGroups(e.target);
      });
    }
  }

  // The copy button beside a secret shown once.
  function setUpCopy() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      button.hidden = false;
      button.addEventListener("click", function (e) {
        var btn = e.currentTarget;
        var field = document.getElementById(btn.getAttribute("data-copy"));
        var status = btn.parentNode.querySelector(".copy-status");
        if (!field) {
          return;
        }
        var done = function (ok) {
          if (status) {
            status.textContent = ok ? "Copied to the clipboard." : "Select the secret and copy it.";
          }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
            field.select();
            done(document.execCommand && document.execCommand("copy"));
          });
        } else {
          field.select();
          done(document.execCommand && document.execCommand("copy"));
        }
      });
    }
  }

  function init() {
    setUpGroups();
    setUpCopy();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
