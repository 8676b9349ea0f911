// Passkey buttons (no inline script: served from /assets under the pages' CSP).
// Each button carries the WebAuthn options the server made for one one-time state; the
// browser's answer (@simplewebauthn/browser) goes back in the form's hidden `response`.
'use strict'
;(function () {
  var lib = window.SimpleWebAuthnBrowser
  var buttons = document.querySelectorAll('button[data-passkey]')
  for (var i = 0; i < buttons.length; i++) setUp(buttons[i])

  function setUp (button) {
    var form = button.form
    var error = form.querySelector('.passkey-error')
    if (lib === undefined || !lib.browserSupportsWebAuthn()) {
      if (error !== null) error.textContent = button.getAttribute('data-unsupported')
      return
    }
    button.hidden = false
    button.addEventListener('click', function (event) {
      event.preventDefault()
      button.disabled = true
      var optionsJSON = JSON.parse(button.getAttribute('data-options'))
      var ask = button.getAttribute('data-passkey') === 'register'
        ? lib.startRegistration({ optionsJSON: optionsJSON })
        : lib.startAuthentication({ optionsJSON: optionsJSON })
      ask.then(function (answer) {
        form.querySelector('input[name=response]').value = JSON.stringify(answer)
        form.submit()
      }, function (err) {
        button.disabled = false
        if (error !== null) error.textContent = button.getAttribute('data-not-used') + ' (' + (err && err.name ? err.name : 'error') + ')'
      })
    })
  }
})()
