// Starts Swagger UI on /api/docs. A file of its own: the page's CSP allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("api-reference");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // no badge fetched from validator.swagger.io
    showExtensions: true, // x-websocket, x-undeclared
    showCommonExtensions: true,
    // "Try it out" calls the API as the app's own pages do (the CSRF header on every request).
    requestInterceptor: function (req) {
      req.headers["X-VICE-CSRF"] = "1";
      return req;
    },
  });
})();
