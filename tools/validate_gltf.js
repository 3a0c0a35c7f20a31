// Check .glb files with the Khronos glTF Validator (the reference implementation engines' importers follow).
//   npm install --prefix /tmp/gltf gltf-validator
//   NODE_PATH=/tmp/gltf/node_modules node tools/validate_gltf.js out.glb [more.glb ...]
// Exits non-zero when any file has errors.
const fs = require('fs');
const validator = require('gltf-validator');

(async () => {
  let failed = 0;
  for (const path of process.argv.slice(2)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(path)), { maxIssues: 50 });
    const issues = report.issues;
    console.log(`${path}: ${issues.numErrors} errors, ${issues.numWarnings} warnings (validator ${report.validatorVersion})`);
    for (const m of issues.messages.slice(0, 20)) console.log(`  ${m.code} ${m.pointer || ''}: ${m.message}`);
    if (issues.numErrors) failed += 1;
  }
  process.exit(failed ? 1 : 0);
})();
