// s3seal console: streamed uploads with progress, and confirmations.
// Everything else is plain HTML forms.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) {
        e.preventDefault();
      }
    });
  });

  var upload = document.getElementById("upload");
  if (!upload) {
    return;
  }
  upload.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = document.getElementById("upload-file").files[0];
    if (!file) {
      return;
    }
    var name = document.getElementById("upload-name").value || (upload.dataset.prefix + file.name);
    var status = document.getElementById("upload-status");
    var progress = document.getElementById("upload-progress");
    var button = upload.querySelector("button");
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", "/buckets/" + encodeURIComponent(upload.dataset.bucket) + "/upload?key=" + encodeURIComponent(name));
    xhr.setRequestHeader("X-CSRF-Token", upload.dataset.csrf);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) {
        progress.value = Math.round(100 * ev.loaded / ev.total);
        status.textContent = "Uploading " + name + ": " + progress.value + "%";
      }
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      status.textContent = xhr.responseText;
      if (xhr.status === 200) {
        status.className = "ok";
        window.location.reload();
      } else {
        status.className = "error";
        status.setAttribute("role", "alert");
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      status.className = "error";
      status.textContent = "The upload of " + name + " failed: the console could not be reached.";
    });
    progress.hidden = false;
    progress.value = 0;
    button.disabled = true;
    status.className = "";
    status.textContent = "Uploading " + name + "…";
    xhr.send(file);
  });
});
