/* grantpool: before a file is sent, say at once when it is too large, and send photos
   at a size a slow link can carry. The form works the same without this script. */
(function () {
  "use strict";
  var LONGEST = 1600, QUALITY = 0.8;
  function say(input, text) {
    var note = input.parentNode.querySelector(".upload-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "upload-note error-message";
      note.setAttribute("role", "status");
      input.parentNode.insertBefore(note, input.nextSibling);
    }
    note.textContent = text;
    input.setCustomValidity(text);
  }
  function use(input, file) {
    var list = new DataTransfer();
    list.items.add(file);
    input.files = list.files;
  }
  function smaller(input, file, limit) {
    if (!window.createImageBitmap || !window.DataTransfer) return Promise.resolve(file);
    return createImageBitmap(file).then(function (picture) {
      var scale = Math.min(1, LONGEST / Math.max(picture.width, picture.height));
      if (scale === 1 && file.size <= limit) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(picture.width * scale);
      canvas.height = Math.round(picture.height * scale);
      canvas.getContext("2d").drawImage(picture, 0, 0, canvas.width, canvas.height);
      return new Promise(function (done) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) return done(file);
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          done(new File([blob], name, { type: "image/jpeg" }));
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-bytes]"), function (input) {
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      say(input, "");
      if (!file) return;
      var photo = /^image\/(jpeg|png|webp)$/.test(file.type);
      (photo ? smaller(input, file, limit) : Promise.resolve(file)).then(function (sent) {
        if (sent !== file) use(input, sent);
        if (sent.size > limit) say(input, input.getAttribute("data-too-large") || "");
      });
    });
  });
})();
