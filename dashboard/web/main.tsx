import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { App } from "./app.js";

const root = document.getElementById("app") as HTMLElement;
root.textContent = ""; // the "Loading" line
render(<App />, root);
