// msgpackr treats a failing require as "native acceleration not installed" and decodes in JavaScript.
throw new Error('msgpackr-extract is disabled in voxshift (optional native acceleration)');
