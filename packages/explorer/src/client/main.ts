/** The explorer page's entry point: mounts the Preact app. */
import { h, render } from "preact";
import { App } from "./app";

const root = document.getElementById("app");
if (root !== null) render(h(App, {}), root);
