import './styles.css';
import { Controller } from './ui/controller';

void new Controller().boot();
