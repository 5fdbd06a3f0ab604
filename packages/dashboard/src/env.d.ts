// Vite turns CSS imports into stylesheets; tell TypeScript they are modules without exports.
declare module '*.css'
