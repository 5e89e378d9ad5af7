// Loaded by mocha (.mocharc.json "require") before any test file: libp2p needs the polyfill first.
import '../node/polyfill.js'
